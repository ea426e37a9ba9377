# scap-cases.sh: the guest functions of the scap case (Falco's kernel module),
# appended to a guest's /cases.sh by scripts/vmtest and scripts/builder-vmtest.sh.
# The guest has /kdriver, /scap.ko, /scap-badver.ko, /scap-version, /sysroot
# (sid's sysdig) and /scap-trixie.ko with /scap-trixie-version.

# scap: Falco's kernel module (sid's falcosecurity-scap-dkms, built for this
# kernel), installed the way a Falco user would: a wrong-vermagic copy is
# refused in preflight; `kdriver install --driver-name scap` downloads it from
# a Falco-layout store (the bare file at <version>/<arch>/<name>, no index,
# no sidecar), loads it and verifies it with the libs reader; sid's sysdig (a
# userland unpacked in /sysroot) prints an openat of a nonce path made after
# the load; `kdriver cleanup` refuses while sysdig holds the devices and says
# so; then falco-driver-loader with DRIVER_NAME=scap installs it again from
# the same store and --clean unloads it.
scap_loaded() { grep -q '^scap ' /proc/modules; }
scap_preflight() {
	if /kdriver install --type kmod --driver-name scap --file /scap-badver.ko >/tmp/bad.txt 2>&1; then
		echo "kdriver install loaded a scap.ko built for another kernel"
		return 1
	fi
	cat /tmp/bad.txt
	grep -q 'vermagic\|release' /tmp/bad.txt || { echo "the refusal names no release"; return 1; }
	! scap_loaded || { echo "scap is loaded after a refused preflight"; return 1; }
}
# scap_store: publish /scap.ko as a Falco mirror does, under the name this
# guest resolves for DRIVER_NAME=scap
scap_store() {
	v=$(cat /scap-version)
	kofile=$(/kdriver printenv --driver-name scap --driver-version "$v" --output json |
		sed -n 's/.*"kmod_file": *"\([^"]*\)".*/\1/p')
	[ -n "$kofile" ] || { echo "kdriver printenv: no kmod_file"; return 1; }
	# built by `kdriver build` (scripts/builder-vmtest.sh): the name it gave
	# the module is the one this node looks for
	if [ -f /scap-name ] && [ "$(cat /scap-name)" != "$kofile" ]; then
		echo "kdriver build named the module $(cat /scap-name); this node looks for $kofile"
		return 1
	fi
	mkdir -p "/tmp/falco/$v/$(uname -m)" && cp /scap.ko "/tmp/falco/$v/$(uname -m)/$kofile"
	echo "store: /tmp/falco/$v/$(uname -m)/$kofile"
}
scap_sysdig() {
	r=/sysroot
	mount -t proc proc $r/proc && mount --bind /sys $r/sys && mount --bind /dev $r/dev &&
		mount --bind /tmp $r/tmp || return 1
	nonce=/tmp/scap-nonce-$(cat /proc/sys/kernel/random/uuid)
	: >"$nonce"
	: >/tmp/sysdig.out
	chroot $r /usr/bin/sysdig "evt.type=openat and fd.name=$nonce" >/tmp/sysdig.out 2>/tmp/sysdig.err &
	sd=$!
	i=0
	while [ $i -lt 240 ] && ! grep -q "$nonce" /tmp/sysdig.out; do
		cat "$nonce"
		sleep 1
		i=$((i + 1))
	done
	if ! grep "openat.*$nonce" /tmp/sysdig.out; then
		echo "sysdig printed no openat of $nonce in ${i}s:"
		head -5 /tmp/sysdig.out /tmp/sysdig.err
		kill $sd
		return 1
	fi
	echo "sysdig $(chroot $r /usr/bin/sysdig --version | sed 's/.*version //') saw the openat after ${i}s"
	rc=0
	if /kdriver cleanup --type kmod --driver-name scap >/tmp/cleanup.txt 2>&1; then
		echo "kdriver cleanup unloaded scap while sysdig held its devices"
		rc=1
	fi
	echo "cleanup while sysdig reads: $(cat /tmp/cleanup.txt)"
	grep -q 'module in use' /tmp/cleanup.txt || { echo "cleanup does not say the module is in use"; rc=1; }
	scap_loaded || rc=1
	kill $sd
	wait $sd
	umount $r/tmp $r/dev $r/sys $r/proc
	return $rc
}
scap_case() { as_debian_node scap_case_run; }
scap_case_run() {
	[ -f /scap.ko ] || { echo "no /scap.ko: see the scap-build result"; return 1; }
	scap_preflight && scap_store || return 1
	v=$(cat /scap-version)
	/kdriver --driver-name scap --driver-version "$v" --repo file:///tmp/falco \
		install --type kmod --compile=false --verify-timeout 60s --cache-dir /tmp/scap-cache >/tmp/install.txt 2>&1
	rc=$?
	cat /tmp/install.txt
	[ $rc = 0 ] && scap_loaded || return 1
	grep -q '^preflight: module /tmp/scap-cache/.*(downloaded from file:///tmp/falco' /tmp/install.txt &&
		grep -q '^verify: passed' /tmp/install.txt || { echo "install did not download and verify scap"; return 1; }
	scap_sysdig || return 1
	/kdriver cleanup --type kmod --driver-name scap && ! scap_loaded || return 1
	# Falco's loader command line, from the same store, a cold cache
	ln -sf /kdriver /tmp/falco-driver-loader
	DRIVER_NAME=scap DRIVER_VERSION=$v DRIVERS_REPO=file:///tmp/falco KDRIVER_CACHE=/tmp/fdl-cache \
		/tmp/falco-driver-loader kmod --download >/tmp/fdl.txt 2>&1
	rc=$?
	cat /tmp/fdl.txt
	[ $rc = 0 ] && scap_loaded && grep -q '^verify: passed' /tmp/fdl.txt || {
		echo "falco-driver-loader kmod --download did not install and verify scap"
		return 1
	}
	DRIVER_NAME=scap /tmp/falco-driver-loader --clean && ! scap_loaded || return 1
	scap_trixie
}
# scap_trixie: trixie's 0.20.0 (libs 0.20, event schema 3) from the same
# kind of store: install verifies it with the libs reader, cleanup unloads it
scap_trixie() {
	[ -f /scap-trixie.ko ] || { echo "no /scap-trixie.ko: see the scap-build result of trixie"; return 1; }
	tv=$(cat /scap-trixie-version)
	kofile=$(/kdriver printenv --driver-name scap --driver-version "$tv" --output json |
		sed -n 's/.*"kmod_file": *"\([^"]*\)".*/\1/p')
	mkdir -p "/tmp/falco/$tv/$(uname -m)" && cp /scap-trixie.ko "/tmp/falco/$tv/$(uname -m)/$kofile" || return 1
	/kdriver --driver-name scap --driver-version "$tv" --repo file:///tmp/falco \
		install --type kmod --compile=false --verify-timeout 60s --cache-dir /tmp/scap-cache >/tmp/install-trixie.txt 2>&1
	rc=$?
	cat /tmp/install-trixie.txt
	[ $rc = 0 ] && grep -q "x86_64 module scap\|aarch64 module scap" /tmp/install-trixie.txt &&
		grep -q "(version $tv)" /tmp/install-trixie.txt && grep -q '^verify: passed' /tmp/install-trixie.txt || {
		echo "install of trixie's scap $tv did not load and verify it"
		return 1
	}
	/kdriver cleanup --type kmod --driver-name scap && ! scap_loaded
}
# scap-bpf: Falco's legacy eBPF probe (the bpf/ of sid's falcosecurity-scap-dkms,
# built for this kernel by `kdriver build --kind ebpf --source`, /scap-bpf.o,
# its built name in /scap-bpf-name), put in a Falco-layout store under the
# name this Debian node looks for (which must be the built name), placed by
# `falco-driver-loader bpf --download` with DRIVER_NAME=scap where Falco
# loads it (~/.falco/scap-bpf.o, a link to the verified copy in the cache),
# then read by sid's sysdig with --bpf pointed at it: an openat of a nonce
# path shows up. --clean removes the link.
scap_bpf_case() { as_debian_node scap_bpf_run; }
scap_bpf_run() {
	[ -f /scap-bpf.o ] || { echo "no /scap-bpf.o: see the scap-bpf-build result"; return 1; }
	v=$(cat /scap-version)
	ofile=$(/kdriver printenv --driver-name scap --driver-version "$v" --output json |
		sed -n 's/.*"ebpf_file": *"\([^"]*\)".*/\1/p')
	[ -n "$ofile" ] || { echo "kdriver printenv: no ebpf_file"; return 1; }
	if [ "$(cat /scap-bpf-name)" != "$ofile" ]; then
		echo "kdriver build named the probe $(cat /scap-bpf-name); this node looks for $ofile"
		return 1
	fi
	mkdir -p "/tmp/falco-bpf/$v/$(uname -m)" && cp /scap-bpf.o "/tmp/falco-bpf/$v/$(uname -m)/$ofile" || return 1
	echo "store: /tmp/falco-bpf/$v/$(uname -m)/$ofile"
	ln -sf /kdriver /tmp/falco-driver-loader
	HOME=/root DRIVER_NAME=scap DRIVER_VERSION=$v DRIVERS_REPO=file:///tmp/falco-bpf KDRIVER_CACHE=/tmp/fdl-bpf-cache \
		/tmp/falco-driver-loader bpf --download >/tmp/fdl-bpf.txt 2>&1
	rc=$?
	cat /tmp/fdl-bpf.txt
	[ $rc = 0 ] && grep -q "^installed: Falco probe placed: /root/.falco/scap-bpf.o -> /tmp/fdl-bpf-cache/" /tmp/fdl-bpf.txt &&
		[ -L /root/.falco/scap-bpf.o ] || { echo "falco-driver-loader bpf did not place the probe"; return 1; }
	r=/sysroot
	mount -t proc proc $r/proc && mount --bind /sys $r/sys && mount --bind /dev $r/dev &&
		mount --bind /tmp $r/tmp || return 1
	# sysdig runs chrooted: the placed probe (a link into /tmp) by its target
	probe=$(readlink /root/.falco/scap-bpf.o)
	nonce=/tmp/scap-bpf-nonce-$(cat /proc/sys/kernel/random/uuid)
	: >"$nonce"
	: >/tmp/sysdig-bpf.out
	chroot $r /usr/bin/sysdig --bpf="$probe" "evt.type=openat and fd.name=$nonce" >/tmp/sysdig-bpf.out 2>/tmp/sysdig-bpf.err &
	sd=$!
	i=0
	while [ $i -lt 240 ] && ! grep -q "$nonce" /tmp/sysdig-bpf.out; do
		cat "$nonce"
		sleep 1
		i=$((i + 1))
	done
	rc=0
	if grep "openat.*$nonce" /tmp/sysdig-bpf.out; then
		echo "sysdig --bpf=$probe saw the openat after ${i}s"
	else
		echo "sysdig --bpf printed no openat of $nonce in ${i}s:"
		head -5 /tmp/sysdig-bpf.out /tmp/sysdig-bpf.err
		rc=1
	fi
	kill $sd
	wait $sd
	umount $r/tmp $r/dev $r/sys $r/proc
	[ $rc = 0 ] || return 1
	DRIVER_NAME=scap HOME=/root /tmp/falco-driver-loader --clean && [ ! -e /root/.falco/scap-bpf.o ] ||
		{ echo "falco-driver-loader --clean left /root/.falco/scap-bpf.o"; return 1; }
}
