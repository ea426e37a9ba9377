// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * golden.c: writes one event of every type with fixed values, built the
 * way a C producer builds them (struct kd_evt_hdr, __u16 lengths, params),
 * one "name hex" line each. events/golden_test.go compiles it with the
 * host's C compiler and compares the bytes with events/testdata/golden,
 * which the Go encoder must also reproduce: one format, two producers.
 */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "kd_event.h"

static unsigned char buf[KD_MAX_EVENT_LEN];
static __u32 off;
static __u16 np, idx;

static void begin(__u16 type, __u16 nparams)
{
	struct kd_evt_hdr h;

	memset(&h, 0, sizeof(h));
	h.ts_ns = 0x0102030405060708ULL;
	h.tid = 1001;
	h.pid = 1000;
	h.type = type;
	h.nparams = nparams;
	h.cpu = 1;
	strncpy(h.comm, "golden", KD_COMM_LEN - 1);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	np = nparams;
	idx = 0;
	off = KD_HDR_LEN + 2 * nparams;
}

static void raw(const void *p, __u16 len)
{
	memcpy(buf + KD_HDR_LEN + 2 * idx, &len, 2);
	memcpy(buf + off, p, len);
	off += len;
	idx++;
}

static void s64(__s64 v) { raw(&v, 8); }
static void str(const char *s) { raw(s, strlen(s) + 1); }

static void end(const char *name)
{
	struct kd_evt_hdr *h = (struct kd_evt_hdr *)buf;
	__u32 i;

	if (idx != np) {
		fprintf(stderr, "%s: %u params, want %u\n", name, idx, np);
		return;
	}
	h->len = off;
	printf("%s ", name);
	for (i = 0; i < off; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

static const unsigned char inet4[16] = { 2, 0, 0x1f, 0x90, 127, 0, 0, 1 };
static const unsigned char inet6[28] = { 10, 0, 0x01, 0xbb, [23] = 1 };

int main(void)
{
	begin(KD_EV_EXECVE_E, KD_NP_EXECVE_E);
	str("/bin/true"); raw("true\0--version", 15); end("execve_e");
	begin(KD_EV_EXECVE_X, KD_NP_EXECVE_X);
	s64(0); end("execve_x");
	begin(KD_EV_EXECVEAT_E, KD_NP_EXECVEAT_E);
	s64(-100); str("/bin/true"); raw("true", 5); s64(0x1000); end("execveat_e");
	begin(KD_EV_EXECVEAT_X, KD_NP_EXECVEAT_X);
	s64(-2); end("execveat_x");
	begin(KD_EV_OPEN_X, KD_NP_OPEN_X);
	s64(3); s64(-100); str("/etc/hosts"); s64(0x80000); s64(0); end("open_x");
	begin(KD_EV_OPENAT_X, KD_NP_OPEN_X);
	s64(4); s64(-100); str("/tmp/x"); s64(0x241); s64(0644); end("openat_x");
	begin(KD_EV_OPENAT2_X, KD_NP_OPEN_X);
	s64(-13); s64(5); str("rel/path"); s64(0); s64(0); end("openat2_x");
	begin(KD_EV_CONNECT_X, KD_NP_CONNECT_X);
	s64(-111); s64(5); raw(inet4, sizeof(inet4)); end("connect_x");
	begin(KD_EV_ACCEPT_X, KD_NP_ACCEPT_X);
	s64(6); s64(3); raw(inet6, sizeof(inet6)); s64(0); end("accept_x");
	begin(KD_EV_ACCEPT4_X, KD_NP_ACCEPT_X);
	s64(7); s64(3); raw("\1\0/run/s.sock", 14); s64(0x80000); end("accept4_x");
	begin(KD_EV_CLONE_X, KD_NP_CLONE_X);
	s64(1234); s64(0x3d0f00); end("clone_x");
	begin(KD_EV_CLONE3_X, KD_NP_CLONE_X);
	s64(0); s64(0x4000); end("clone3_x");
	begin(KD_EV_FORK_X, KD_NP_CLONE_X);
	s64(1235); s64(0); end("fork_x");
	begin(KD_EV_VFORK_X, KD_NP_CLONE_X);
	s64(1236); s64(0); end("vfork_x");
	begin(KD_EV_CLOSE_X, KD_NP_CLOSE_X);
	s64(-9); s64(-1); end("close_x");
	begin(KD_EV_UNLINKAT_X, KD_NP_UNLINKAT_X);
	s64(0); s64(-100); str("/tmp/gone"); s64(0x200); end("unlinkat_x");
	begin(KD_EV_RENAMEAT2_X, KD_NP_RENAMEAT2_X);
	s64(0); s64(-100); str("a"); s64(-100); str("b"); s64(1); end("renameat2_x");
	begin(KD_EV_PROCEXIT, KD_NP_PROCEXIT);
	s64(0x2a00); s64(42); s64(0); end("procexit");
	return 0;
}
