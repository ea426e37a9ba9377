package legacy

import "embed"

// CSource is the probe's C source and kbuild Makefile (the c folder),
// carried in the binary so that builds need no checkout. kd_event.h is not
// in it: it comes from package events (events.CHeader).
//
//go:embed c
var CSource embed.FS
