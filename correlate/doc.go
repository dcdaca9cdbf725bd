// Package correlate turns the evidence of one alarm (audit.Evidence) into a
// root-cause timeline and a verdict. It is pure: no I/O, no clock, no AWS
// SDK; the same evidence always gives the same result.
//
// # Findings
//
// Around the breach start B (the timestamp of the first breaching datapoint
// of the run that fired the alarm), the evidence is read for changes of
// level:
//
//   - flow gaps (detect.go): ACCEPT series, per interface, class (IPsec to a
//     tunnel endpoint, traffic across the VPN, other) and direction, that
//     were active in the baseline before B and went quiet within 30 minutes
//     before to 5 minutes after it. A gap must last at least two
//     aggregation intervals and five minutes, and its time carries the flow
//     log's aggregation interval (60 s or 600 s) as its uncertainty;
//     A gap must also outlast the series' own cadence; a sparse cross-VPN
//     conversation counts when the other direction on the same interface
//     goes on after it stops (sent, never answered: a lost route);
//   - REJECT onsets: REJECT series absent from the baseline that appear near
//     B; NODATA windows of the appliance's ENI;
//   - metric shifts: the median of a series' baseline against the median
//     5–20 minutes after B (the whole episode when it recovered sooner), a
//     change of at least half the baseline; for sums whose medians agree
//     (sparse counters such as drops), means, and only a rise counts; a
//     series that stops reporting (EC2 publishes nothing for a stopped
//     instance) is a drop too.
//
// # Hypotheses
//
// Every mutating CloudTrail call that names a resource on the path (by ID,
// an Elastic IP's address or association, a tunnel's outside IP) is a
// candidate. Its score is the product of three factors in [0, 1]:
//
//	score = relation × timing × (0.4 + 0.6 × corroboration)
//
// relation is what the call does to the path by its nature (rules.go): 1
// for calls that break it (StopInstances on the appliance, DisassociateAddress
// of the customer gateway's Elastic IP, deleting the VPN), about 0.4–0.9 where
// the parameters decide (a security-group revoke that names UDP 500/4500 is
// 1, another revoke 0.4; a scale-in to zero is 1), near 0 for calls that
// cannot block traffic (tags, additive allow rules, Authorize*). A call on
// the path with no rule gets 0.3. A failed call (errorCode) gets 0: it is
// evidence of intent, never a cause.
//
// timing measures the call against the breach start B. A call after the
// first breaching period (B + period) scores 0: it cannot have caused the
// breach. A call inside that period scores 1 (the breach began somewhere in
// it). Before B, the time beyond the mechanism's typical lag (instance
// shutdown and IKE dead-peer detection ≈ 3 min, rekey-bound changes ≈ 5 min,
// Auto Scaling ≈ 10 min) decays with a 20-minute horizon: exp(−excess/20 min).
// Flow-log times are compared with the aggregation interval as slack, and
// CloudTrail's event time is the call's own time, not its delivery time.
//
// corroboration is the share of the mechanism's expected effects that the
// evidence shows after the call: IPsec to the tunnel endpoints stops, the
// appliance goes silent (NODATA, EC2 metrics stop, no traffic at all),
// TunnelState drops or the telemetry goes DOWN, traffic across the VPN stops,
// REJECTs appear, Transit Gateway no-route drops rise. Effects whose source
// is missing are not counted; with none checkable the factor is 0.5.
// Evidence against (traffic that had already stopped before the call, or
// that kept flowing) is reported in why_not. A describe output that agrees
// (an instance whose state reason names the call's time) adds 0.25.
//
// A call an AWS service made for a person (Auto Scaling terminating the
// appliance after someone scaled its group to zero) is linked to that
// person's call on the instance's Auto Scaling group: the person's call is
// the cause and inherits the effect's evidence; the service's call is shown
// as its effect, at half its score, and is not counted as a rival.
//
// Changes near the breach that touch nothing on the path (EC2 and Auto
// Scaling calls within 90 minutes) are listed as rejected candidates with
// score 0, so the report says why they were not the cause.
//
// # Verdict
//
// The top candidate is the root cause when its score is at least 0.45 and
// its relation at least 0.6. Confidence is high when the score is at least
// 0.7, at least two thirds of its expected effects are seen, no rival
// scores half as much, and CloudTrail, flow logs and metrics were all read;
// medium when the score is at least 0.55 or a source is missing; low
// otherwise. When nothing qualifies the verdict is inconclusive — never the
// nearest event for lack of a better one — and the summary says what the
// traffic and metrics show (IPsec stopped at 02:31 while the appliance kept
// running, TunnelState fell at 02:32), with medium confidence when every
// source was read and low when CloudTrail was not.
package correlate
