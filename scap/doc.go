// Package scap reads the event rings of Falco's kernel module (the
// falcosecurity/libs driver, module and devices "scap" in Debian's
// falcosecurity-scap-dkms) and translates the events the self-test needs
// into kdriver's own format (package events), so that events.SelfTest,
// `kdriver verify` and `kdriver events` work unchanged on it.
//
// Every layout, ioctl number and event code here is a fact read from the
// driver's public headers (ppm_events_public.h, ppm_ringbuffer.h,
// ppm_api_version.h, ppm_tp.h) and its event table of the Debian packages
// 0.20.0 (API 8.0.3, schema 3.5.0) and 0.23.2 (API 8.0.4, schema 4.1.0);
// the code is kdriver's. API 1 (the 2022 package 0.1.1dev) is refused: its
// capture ioctls, ring statistics and event parameters differ.
package scap
