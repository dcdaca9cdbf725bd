// Package live builds the real AWS SDK clients behind the collector's
// interfaces: credentials and region from the standard chain (environment,
// shared config and credentials files, SSO, profiles, instance and
// container roles), the SDK's endpoint variables (AWS_ENDPOINT_URL and the
// per-service ones, for moto or LocalStack), adaptive retries.
//
// Every client is read-only by construction: a middleware at the front of
// each client's stack refuses any operation that is not a read (Describe*,
// Get*, List*, Lookup*, Filter*, Search*, StartQuery, and
// StartQueryExecution when its query is a single SELECT) before anything is
// signed or sent. A Recorder, when given, writes every call the run makes
// as an evidence bundle (format version 1) with secrets removed; an S3
// object read is kept byte for byte under s3/BUCKET/KEY.
package live
