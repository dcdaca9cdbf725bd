// Package faultproxy is a fault-injecting reverse proxy for tests: put it
// in front of moto or the CloudTrail emulator (internal/ctemu) and point
// the SDK at it, and a seeded share of the requests fail the way AWS
// fails — the service's own throttling error, HTTP 500 and 503, a TCP
// reset, a truncated body, a slow answer, a pagination token that repeats,
// an empty page that still has a token — or one operation fails every
// time (Permanent), such as an access denial naming its IAM action.
//
//	p := faultproxy.Start(t, faultproxy.Options{Target: moto.URL, Seed: 7,
//		Rates: map[faultproxy.Kind]float64{faultproxy.Throttle: 0.1, faultproxy.Reset: 0.05}})
//	t.Setenv("AWS_ENDPOINT_URL", p.URL)
//
// The service and operation of a request come from its SigV4 credential
// scope and its X-Amz-Target header or Action parameter; errors are written
// in the request's protocol (AWS JSON, EC2's XML, the query protocol's XML).
package faultproxy
