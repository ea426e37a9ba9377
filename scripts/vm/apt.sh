# shellcheck shell=bash
# Private apt state for downloading Debian kernels without touching the
# host's apt configuration. Sourced by the other scripts/vm helpers.
#
# The mirror is the host's own: the first URI of /etc/apt/sources.list(.d)
# that serves the main archive, and the one that serves -security.

KDRIVER_CACHE=${KDRIVER_CACHE:-/var/cache/kdriver-dev}
VM_CACHE=$KDRIVER_CACHE/vm

# host_mirrors prints "main URI" and "security URI" lines.
host_mirrors() {
	local f
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			awk '$1 == "deb" { u = $2; if ($2 ~ /^\[/) u = $3; print u }' "$f"
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
		done
	} | awk '
		/-security\/?$/ { if (!sec) sec = $0; next }
		/\/debian\/?$/ { if (!main) main = $0 }
		END {
			if (main) print "main " main
			if (sec) print "security " sec
		}'
}

# vm_lock NAME: hold an exclusive lock on $VM_CACHE/NAME.lock until the
# script exits, so that concurrent vmtest runs share the cache safely.
vm_lock() {
	mkdir -p "$VM_CACHE"
	exec 9>"$VM_CACHE/$1.lock"
	flock 9
}

# apt_set_suites SET prints "main|security suite" lines for a kernel set.
apt_set_suites() {
	case $1 in
	bullseye) printf '%s\n' "main bullseye" "main bullseye-updates" "security bullseye-security" ;;
	bullseye-nosec) printf '%s\n' "main bullseye" "main bullseye-updates" ;;
	bookworm) printf '%s\n' "main bookworm" "main bookworm-updates" "security bookworm-security" ;;
	bookworm-backports) printf '%s\n' "main bookworm" "main bookworm-backports" ;;
	trixie) printf '%s\n' "main trixie" "main trixie-updates" "security trixie-security" ;;
	sid) printf '%s\n' "main sid" ;;
	*) echo "unknown apt set $1 (bullseye bullseye-nosec bookworm bookworm-backports trixie sid)" >&2; return 2 ;;
	esac
}

# apt_opts SET sets the array APT_OPTS for a private apt state of SET.
apt_opts() {
	local d=$VM_CACHE/apt/$1
	APT_OPTS=(
		-o "Dir::Etc::sourcelist=$d/sources.list"
		-o "Dir::Etc::sourceparts=$d/empty"
		-o "Dir::Etc::preferences=$d/empty/none"
		-o "Dir::Etc::preferencesparts=$d/empty"
		-o "Dir::State=$d/state"
		-o "Dir::State::status=$d/status"
		-o "Dir::Cache=$d/cache"
		-o "APT::Architecture=amd64"
		-o "APT::Architectures=amd64,arm64"
		-o "Acquire::Check-Valid-Until=false"
		-o "Acquire::Languages=none"
		-o "APT::Sandbox::User=root"
		-o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
		-o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
		-o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
		-o "APT::Get::List-Cleanup=false"
		-q
	)
}

# apt_prepare SET writes SET's sources and refreshes its lists when they are
# older than a day (or missing).
apt_prepare() {
	local set=$1 d=$VM_CACHE/apt/$1 kind suite uri main sec
	mkdir -p "$d/empty" "$d/state/lists/partial" "$d/cache/archives/partial"
	: >>"$d/status"
	main=$(host_mirrors | awk '$1 == "main" { print $2 }')
	sec=$(host_mirrors | awk '$1 == "security" { print $2 }')
	if [ -z "$main" ]; then
		echo "no Debian mirror in /etc/apt/sources.list(.d): add one" >&2
		return 1
	fi
	: >"$d/sources.list.new"
	apt_set_suites "$set" | while read -r kind suite; do
		uri=$main
		if [ "$kind" = security ]; then
			[ -n "$sec" ] || continue
			uri=$sec
		fi
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >>"$d/sources.list.new"
	done
	if ! cmp -s "$d/sources.list.new" "$d/sources.list" 2>/dev/null; then
		mv "$d/sources.list.new" "$d/sources.list"
		rm -f "$d/stamp"
	fi
	apt_opts "$set"
	if [ -z "$(find "$d/stamp" -mmin -1440 2>/dev/null)" ]; then
		apt-get "${APT_OPTS[@]}" update >&2
		touch "$d/stamp"
	fi
}
