// Package trail turns CloudTrail event records into vpnaudit's evidence model
// (audit.Change and audit.Actor).
//
// A CloudTrail event record is the JSON object that is one element of a log
// file's "Records" array; LookupEvents returns the same object as the
// CloudTrailEvent string of each event, next to a few envelope fields
// (EventId, EventName, Username, Resources, …). Decode reads one record,
// DecodeRecords a whole log file, and FromLookup one LookupEvents event,
// using the envelope to fill what the record lacks.
//
// Records in the wild are less regular than the documentation suggests: keys
// go missing, differ in case ("accountid"), carry other types than documented
// (readOnly as "true", numbers as strings, responseElements null), and
// exporters add keys of their own (Panther's p_*). The decoder reads what is
// there, ignores what it does not know and never panics; it fails only when
// the input is not one JSON object, and reports an eventTime it cannot read.
//
// What a Change says beyond the record's own fields:
//
//   - Actor.Name is how a person would name the caller: "alice",
//     "ci-deployer/gha-8812" (role/session),
//     "AWSReservedSSO_NetworkAdmin_0123abcd/dana@example.com", "root",
//     "autoscaling.amazonaws.com".
//   - Via classifies the user agent: console, cli, sdk, terraform,
//     cloudformation, aws-service or other (see ClassifyUserAgent).
//   - Resources lists the resource IDs, names and addresses the call touched
//     (see Decode).
//
// Every time is UTC. The package uses the standard library only; the caller
// converts from the AWS SDK's types.
package trail
