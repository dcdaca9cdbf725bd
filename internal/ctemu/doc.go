// Package ctemu is a CloudTrail LookupEvents emulator for tests and
// benchmarks: moto lacks LookupEvents, so the live collector's CloudTrail
// paging (its pacing, its retries, its call count) is exercised against
// this server through the real SDK client instead.
//
// It speaks CloudTrail's AWS JSON 1.1 protocol (POST /, X-Amz-Target
// CloudTrail_20131101.LookupEvents or the com.amazonaws.cloudtrail.v20131101
// form, epoch-second timestamps, NextToken) and answers from an evidence
// bundle's cloudtrail/LookupEvents*.json files with the API's semantics
// (bundle.CloudTrail: inclusive time bounds, one lookup attribute, newest
// first). Its knobs are the API's quota — a token bucket of DefaultRate
// requests a second, excess answered with HTTP 400
// {"__type":"ThrottlingException","message":"Rate exceeded"} — the page
// size, and a fault hook; it counts requests and throttles.
//
//	s := ctemu.Start(t, bundleDir, ctemu.Options{})
//	client := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(s.URL) })
package ctemu
