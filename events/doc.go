// Package events defines the one event format every kdriver driver emits
// (see events/c/kd_event.h and docs/events.md), a bounds-checked decoder,
// the Source interface that each driver's reader implements, and the
// self-test that proves a driver delivers the events it should.
package events
