package live_test

import "time"

// testNow is the recording time of bundles written without moto.
var testNow = time.Date(2026, 3, 14, 21, 40, 0, 0, time.UTC)
