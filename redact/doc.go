// Package redact replaces what identifies an organisation's people and
// network in vpnaudit's reports and evidence bundles, for attachments that
// leave the team (--redact). It uses the standard library only and never
// the AWS SDK.
//
// Result redacts a correlated result (what every report format renders),
// Bundle writes a redacted copy of an evidence bundle, and Text redacts one
// string (an alarm name, an error message) with the same mappings.
//
// A Redactor (New) hands out stable tokens: within one Redactor the same
// value always gets the same token, in a report (Result) and in a bundle
// (Bundle) alike, so a redacted report still reads as one story and a
// redacted bundle still replays to the same verdict. Tokens are derived
// from the Redactor's seed; the CLI passes a fresh random seed per run, so
// tokens cannot be linked across runs.
//
// # What is replaced
//
//   - Account IDs become other 12-digit numbers starting with 9999 (a
//     space no real account is likely to use), one per account.
//   - IPv4 and IPv6 addresses are anonymized with Crypto-PAn, keyed from
//     the seed (AES): prefix-preserving, so two addresses that share n
//     leading bits still share exactly n, every subnet maps onto a subnet
//     of the same size, and a CIDR a.b.c.d/n maps to the image of its
//     address with /n kept (a canonical CIDR such as 10.20.0.0/16 or
//     0.0.0.0/0 stays canonical). A replay's classification of traffic —
//     tunnel endpoints, customer side and AWS side by CIDR containment —
//     is therefore unchanged. Private (RFC 1918), shared (100.64/10) and
//     link-local (169.254/16) IPv4 addresses and unique-local and
//     link-local IPv6 addresses stay in their range, so a reader still
//     tells private from public; IPv4-mapped IPv6 addresses map as their
//     IPv4 address. EC2 host names that embed an address (ip-10-1-2-3,
//     ec2-52-1-2-3) follow their address.
//   - Access key IDs and unique IDs of users and roles (AKIA…, ASIA…,
//     AIDA…, AROA…) become their prefix, REDACTED and a counter, padded to
//     the original length (AKIAREDACTED00000001).
//   - User names become user-1, user-2, …: IAM user names, role session
//     names, federated and web-identity user names, Identity Center user
//     names, e-mail addresses wherever they appear (the SSO session in
//     …/AWSReservedSSO_…/name@example.com), the userName, Username,
//     roleSessionName and sessionName members of CloudTrail records and
//     LookupEvents, and the actor names of reports.
//   - In ARNs the account part is replaced like any account ID, and in IAM
//     and STS ARNs the user, session or federated name like a user name;
//     the rest of the resource part is scanned like free text.
//
// # What is kept, and why
//
//   - Role names (gha-terraform-network, AWSReservedSSO_NetworkAdmin_…):
//     they describe automation and permission sets rather than people,
//     and the report's reasoning quotes them. A session issuer's userName
//     (type Role) is a role name and is kept.
//   - AWS resource IDs (i-…, vpn-…, eni-…, sg-…, tgw-…), CloudTrail event
//     IDs, request IDs, names of resources and log groups, alarm names:
//     they are needed to act on a report and are not personal. A session
//     name that is a resource ID (an instance's own session) is kept too.
//   - root, AWS service principals (autoscaling.amazonaws.com) and the
//     sessions of service-linked roles (AWSServiceRoleFor…/AutoScaling).
//   - Times, numbers, ports, protocols and, in a report, every field that
//     holds vocabulary rather than data: statuses, confidences, kinds,
//     roles, event names and sources, resource types and sides, flow
//     classes, directions and actions, statistics and comparisons, how a
//     call was made (console, cli, terraform, …).
//
// # Where a value is recognised
//
// Structured places are known by name: JSON members that hold user names,
// the actor of a CloudTrail record by its identity type, and in flow-log
// records the account-id fields by their position in the flow log's
// LogFormat (or an S3 object's header line). A JSON string value that is
// exactly 12 digits is an account ID.
//
// Free text (summaries, why and why-not, causal chains, request
// parameters, user agents, coverage details, scope relations, tag values)
// is scanned at the start of each word. Account IDs are the ambiguous case:
// a 12-digit number in free text is replaced only when it stands alone (no
// letter or digit on either side, not part of a decimal number) and
//
//   - it is the account part of an ARN, or
//   - the Redactor has met it in an account context anywhere in the same
//     report or bundle (an ARN, an accountId, OwnerId or recipientAccountId
//     member, a whole 12-digit value, a flow record's account-id field,
//     bundle.json), or
//   - the words account, acct or owner stand within 24 characters before
//     it, or it follows AWSLogs/ or precedes _vpcflowlogs_ (S3 log keys).
//
// So "account 123456789012" and "arn:aws:iam::123456789012:root" are
// redacted and "moved 123456789012 bytes" is not; flow-record byte and
// packet counts are never touched, whatever their length. IPv4 addresses
// are not read after "word/" (product versions in a user agent,
// "Linux/5.10.1.2") except inside an ARN, nor as part of a longer dotted
// number. User names learned from identity contexts are also replaced
// where they stand alone as a word in free text (a tag value, a summary);
// a name is not replaced inside a longer name (cw-exporter inside
// eks-cw-exporter), and names shorter than three characters are only
// replaced in their structured places.
//
// # What redaction is not
//
// Redaction is not anonymity against someone who knows the network. Prefix
// preservation is what keeps the verdict, and it leaks structure on
// purpose: which addresses share a subnet and how large it is, how many
// hosts and tunnels there are, and the leading bits an address shares with
// a private range (so a public address keeps a few of its first bits). A
// reader who knows one real address of the lab can match it against the
// structure and recover more. Counts, times, resource IDs, resource and
// alarm names, role names and the sequence of events are kept; a Name tag
// or a description written by a person is scanned for the patterns above
// but not otherwise rewritten. Use it to share an incident with a vendor
// or in a public bug report, not to publish data whose shape is itself
// confidential.
package redact
