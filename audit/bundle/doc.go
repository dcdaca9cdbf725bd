// Package bundle reads evidence bundles (format version 1, see the README)
// and answers the collector's AWS client interfaces from them with each
// API's own semantics — time ranges, lookup attributes, metric identity,
// log groups and streams, describe IDs and filters, pagination — so an
// offline run goes through exactly the collector code a live run does.
//
// Files are indexed by name when a bundle is opened and parsed when first
// asked for; FilterLogEvents files are streamed event by event. A question
// the bundle has no file for returns a *NotInBundleError, which the
// collector reports as missing coverage.
//
// Delivered objects live under s3/: the object s3://BUCKET/KEY is the file
// s3/BUCKET/KEY, byte for byte (what --record writes); a file directly
// under s3/ is found by its name in any bucket (see [S3]). Athena calls
// replay from athena/*.json (see [Athena]).
package bundle
