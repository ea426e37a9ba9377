package events

import "errors"

// ErrVerify is wrapped by every self-test failure: the driver is loaded but
// did not deliver the expected events, or dropped some (exit 5).
var ErrVerify = errors.New("driver verification failed")
