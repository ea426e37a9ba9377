package events

import _ "embed"

// CHeader is c/kd_event.h, the wire format the drivers' C code includes,
// carried in the binary for builds without a checkout (kdriver build).
//
//go:embed c/kd_event.h
var CHeader string
