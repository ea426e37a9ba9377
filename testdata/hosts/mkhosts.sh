#!/bin/bash
# Regenerates the fixture host trees in this folder: cd testdata/hosts && bash mkhosts.sh
# mkhost NAME ARCH RELEASE VERSION FEATURES...  (os-release from stdin if OSREL=1)
set -e
mk() {
  local name=$1 arch=$2 rel=$3 ver=$4; shift 4
  rm -rf "$name"; mkdir -p "$name/proc/sys/kernel" "$name/sys/kernel" "$name/sys/firmware/acpi"
  printf '%s\n' "$rel" > "$name/proc/sys/kernel/osrelease"
  printf '%s\n' "$ver" > "$name/proc/sys/kernel/version"
  printf '%s\n' "$arch" > "$name/proc/sys/kernel/arch"
  echo 1 > "$name/sys/firmware/acpi/pm_profile"
  # A real sysfs file, so that git keeps sys/kernel even on hosts without BTF.
  echo 0 > "$name/sys/kernel/kexec_loaded"
  for f in "$@"; do
    case $f in
      btf) mkdir -p "$name/sys/kernel/btf"; printf 'BTF' > "$name/sys/kernel/btf/vmlinux";;
      modules) printf 'ext4 1015808 1 - Live 0x0000000000000000\n' > "$name/proc/modules";;
      lockdown-none) mkdir -p "$name/sys/kernel/security"; echo '[none] integrity confidentiality' > "$name/sys/kernel/security/lockdown";;
      lockdown-integrity) mkdir -p "$name/sys/kernel/security"; echo 'none [integrity] confidentiality' > "$name/sys/kernel/security/lockdown";;
      lockdown-confidentiality) mkdir -p "$name/sys/kernel/security"; echo 'none integrity [confidentiality]' > "$name/sys/kernel/security/lockdown";;
      secureboot-on) mkdir -p "$name/sys/firmware/efi/efivars"; printf '\x06\x00\x00\x00\x01' > "$name/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0a9e50e4b8c";;
      secureboot-off) mkdir -p "$name/sys/firmware/efi/efivars"; printf '\x06\x00\x00\x00\x00' > "$name/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0a9e50e4b8c";;
      ptrace-off) mkdir -p "$name/proc/sys/kernel/yama"; echo 3 > "$name/proc/sys/kernel/yama/ptrace_scope";;
      loaded:*) m=${f#loaded:}; mkdir -p "$name/sys/module/$m"; echo '8.1.0+driver' > "$name/sys/module/$m/version";;
      *) echo "unknown feature $f" >&2; exit 1;;
    esac
  done
}
osrel() { mkdir -p "$1/etc"; cat > "$1/etc/os-release"; }

mk debian-12-amd64 x86_64 6.1.0-13-amd64 '#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)' btf modules lockdown-none secureboot-off
osrel debian-12-amd64 <<'X'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
X
echo 12.2 > debian-12-amd64/etc/debian_version

mk debian-12-cloud-amd64 x86_64 6.1.0-13-cloud-amd64 '#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)' btf modules
cp debian-12-amd64/etc/os-release debian-12-cloud-amd64/etc/ 2>/dev/null || { mkdir -p debian-12-cloud-amd64/etc; cp debian-12-amd64/etc/os-release debian-12-cloud-amd64/etc/; }

mk debian-12-rt-amd64 x86_64 6.1.0-13-rt-amd64 '#1 SMP PREEMPT_RT Debian 6.1.55-1 (2023-09-29)' btf modules
mkdir -p debian-12-rt-amd64/etc; cp debian-12-amd64/etc/os-release debian-12-rt-amd64/etc/

mk debian-12-arm64 aarch64 6.1.0-13-arm64 '#1 SMP Debian 6.1.55-1 (2023-09-29)' btf modules
mkdir -p debian-12-arm64/etc; cp debian-12-amd64/etc/os-release debian-12-arm64/etc/

mk debian-11-secureboot x86_64 5.10.0-26-amd64 '#1 SMP Debian 5.10.197-1 (2023-09-29)' btf modules lockdown-integrity secureboot-on
osrel debian-11-secureboot <<'X'
PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
ID=debian
X

mk ubuntu-22.04-generic x86_64 5.15.0-91-generic '#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023' btf modules lockdown-none loaded:falco
osrel ubuntu-22.04-generic <<'X'
PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.3 LTS (Jammy Jellyfish)"
ID=ubuntu
ID_LIKE=debian
X

mk ubuntu-22.04-hwe x86_64 6.5.0-14-generic '#14~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov 20 18:15:30 UTC 2023' btf modules
mkdir -p ubuntu-22.04-hwe/etc; cp ubuntu-22.04-generic/etc/os-release ubuntu-22.04-hwe/etc/

mk ubuntu-20.04-aws x86_64 5.15.0-1051-aws '#56~20.04.1-Ubuntu SMP Tue Nov 28 15:43:31 UTC 2023' btf modules
osrel ubuntu-20.04-aws <<'X'
NAME="Ubuntu"
VERSION="20.04.6 LTS (Focal Fossa)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 20.04.6 LTS"
VERSION_ID="20.04"
X

mk ubuntu-24.04-gcp-arm64 aarch64 6.8.0-1015-gcp '#17-Ubuntu SMP Mon Sep  2 16:31:36 UTC 2024' btf modules
osrel ubuntu-24.04-gcp-arm64 <<'X'
PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
ID=ubuntu
ID_LIKE=debian
X

mk ubuntu-24.04-azure x86_64 6.8.0-1021-azure '#25-Ubuntu SMP Wed Jan 15 20:45:09 UTC 2025' btf modules secureboot-on lockdown-integrity
mkdir -p ubuntu-24.04-azure/etc; cp ubuntu-24.04-gcp-arm64/etc/os-release ubuntu-24.04-azure/etc/

mk ubuntu-20.04-lowlatency x86_64 5.4.0-100-lowlatency '#113-Ubuntu SMP PREEMPT Thu Feb 3 19:18:53 UTC 2022' btf modules
mkdir -p ubuntu-20.04-lowlatency/etc; cp ubuntu-20.04-aws/etc/os-release ubuntu-20.04-lowlatency/etc/

mk amazonlinux2 x86_64 4.14.171-136.231.amzn2.x86_64 '#1 SMP Thu Feb 27 20:22:48 UTC 2020' modules
osrel amazonlinux2 <<'X'
NAME="Amazon Linux"
VERSION="2"
ID="amzn"
ID_LIKE="centos rhel fedora"
VERSION_ID="2"
PRETTY_NAME="Amazon Linux 2"
X

mk amazonlinux2023-arm64 aarch64 6.1.79-99.164.amzn2023.aarch64 '#1 SMP PREEMPT_DYNAMIC Wed Mar  6 19:34:57 UTC 2024' btf modules
osrel amazonlinux2023-arm64 <<'X'
NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023.3.20240312"
X

mk cos-109 x86_64 6.1.58+ '#1 SMP PREEMPT_DYNAMIC Sat Oct 28 14:12:24 UTC 2023' btf modules lockdown-none
osrel cos-109 <<'X'
NAME="Container-Optimized OS"
ID=cos
PRETTY_NAME="Container-Optimized OS from Google"
HOME_URL="https://cloud.google.com/container-optimized-os/docs"
BUG_REPORT_URL="https://cloud.google.com/container-optimized-os/docs/resources/support-policy#contact_us"
GOOGLE_METRICS_PRODUCT_ID=26
KERNEL_COMMIT_ID=7e6e8d30c5c5fa3a41a6c7b9c0e4e5a6f0d3e6b9
GOOGLE_CRASH_ID=Lakitu
VERSION=109
VERSION_ID=109
BUILD_ID=17800.66.78
X

mk flatcar x86_64 6.6.54-flatcar '#1 SMP PREEMPT_DYNAMIC Mon Oct  7 22:49:14 -00 2024' btf modules
osrel flatcar <<'X'
NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=3975.2.2
VERSION_ID=3975.2.2
BUILD_ID=2024-10-08-1901
SYSEXT_LEVEL=1.0
PRETTY_NAME="Flatcar Container Linux by Kinvolk 3975.2.2 (Oklo)"
X

mk minikube x86_64 5.10.207 '#1 SMP Mon Sep 16 15:00:28 UTC 2024' modules
osrel minikube <<'X'
NAME=Buildroot
VERSION=2023.02.9-dirty
ID=buildroot
VERSION_ID=2023.02.9
PRETTY_NAME="Buildroot 2023.02.9"
X
echo v1.34.0-1726481311-19649 > minikube/etc/VERSION

mk bottlerocket-arm64 aarch64 6.1.106 '#1 SMP PREEMPT_DYNAMIC Fri Aug 30 20:16:18 UTC 2024' btf modules lockdown-integrity
osrel bottlerocket-arm64 <<'X'
NAME=Bottlerocket
ID=bottlerocket
VERSION="1.22.0 (aws-k8s-1.30)"
PRETTY_NAME="Bottlerocket OS 1.22.0 (aws-k8s-1.30)"
VARIANT_ID=aws-k8s-1.30
VERSION_ID=1.22.0
BUILD_ID=9ee4a5d6
HOME_URL="https://github.com/bottlerocket-os/bottlerocket"
X

mk talos x86_64 6.6.43-talos '#1 SMP Mon Jul 29 12:57:34 UTC 2024' btf modules
osrel talos <<'X'
NAME="Talos"
ID=talos
VERSION_ID=v1.7.6
PRETTY_NAME="Talos (v1.7.6)"
HOME_URL="https://www.talos.dev/"
X

mk centos-7-arm64-legacy aarch64 3.10.0-957.12.2.el7.aarch64 '#1 SMP Tue May 14 22:05:45 UTC 2019' modules
mkdir -p centos-7-arm64-legacy/etc; echo 'CentOS Linux release 7.6.1810 (AltArch)' > centos-7-arm64-legacy/etc/centos-release

mk rhel-9 x86_64 5.14.0-427.13.1.el9_4.x86_64 '#1 SMP PREEMPT_DYNAMIC Wed Apr 10 10:29:16 EDT 2024' btf modules lockdown-integrity secureboot-on
osrel rhel-9 <<'X'
NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
X

mk ol-8-uek x86_64 5.15.0-209.161.7.2.el8uek.x86_64 '#2 SMP Tue Jul 16 10:39:18 PDT 2024' modules
osrel ol-8-uek <<'X'
NAME="Oracle Linux Server"
VERSION="8.10"
ID="ol"
ID_LIKE="fedora"
VERSION_ID="8.10"
PRETTY_NAME="Oracle Linux Server 8.10"
X

# usr/lib/os-release only, CRLF, comments, single quotes.
mk arch-usrlib x86_64 6.6.7-arch1-1 '#1 SMP PREEMPT_DYNAMIC Thu, 14 Dec 2023 03:45:42 +0000' btf modules ptrace-off
mkdir -p arch-usrlib/usr/lib
printf '# Arch Linux\r\nNAME="Arch Linux"\r\nPRETTY_NAME='"'"'Arch Linux'"'"'\r\n\r\nID=arch\r\nBUILD_ID=rolling # trailing comment\r\nANSI_COLOR="38;2;23;147;209"\r\n' > arch-usrlib/usr/lib/os-release

mk undetermined x86_64 6.1.0 '#1 SMP' btf

mk garbled-os-release x86_64 5.4.0-1 '#1 SMP' modules
mkdir -p garbled-os-release/etc; printf '\x00\x01\xff\xfe==garbage\n"unterminated\n' > garbled-os-release/etc/os-release

mk nonsense-kernel x86_64 'not-a-kernel' '' btf
mkdir -p nonsense-kernel/etc; cp debian-12-amd64/etc/os-release nonsense-kernel/etc/

mk devbox-debian-6.18 x86_64 6.18.44-fc-v669 '#1 SMP PREEMPT_DYNAMIC @0' btf
mkdir -p devbox-debian-6.18/etc; cp debian-12-amd64/etc/os-release devbox-debian-6.18/etc/

# Debian shapes Falco names from the package version in uname -v.
mk debian-10-bpo x86_64 5.10.0-0.deb10.16-amd64 '#1 SMP Debian 5.10.127-2~bpo10+1 (2022-07-28)' btf modules
osrel debian-10-bpo <<'X'
PRETTY_NAME="Debian GNU/Linux 10 (buster)"
NAME="Debian GNU/Linux"
VERSION_ID="10"
VERSION="10 (buster)"
ID=debian
X

mk debian-10-security x86_64 4.19.0-6-amd64 '#1 SMP Debian 4.19.67-2+deb10u2 (2019-11-11)' modules
mkdir -p debian-10-security/etc; cp debian-10-bpo/etc/os-release debian-10-security/etc/

mk debian-12-security-cloud-arm64 aarch64 6.12.117+deb12-cloud-arm64 '#1 SMP Debian 6.12.117-1~deb12u1 (2025-02-01)' btf modules
mkdir -p debian-12-security-cloud-arm64/etc; cp debian-12-amd64/etc/os-release debian-12-security-cloud-arm64/etc/

mk debian-12-security-amd64 x86_64 6.12.117+deb12-amd64 '#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2025-02-01)' btf modules
mkdir -p debian-12-security-amd64/etc; cp debian-12-amd64/etc/os-release debian-12-security-amd64/etc/

mk debian-12-bpo-rt-amd64 x86_64 6.10.11+bpo-rt-amd64 '#1 SMP PREEMPT_RT Debian 6.10.11-1~bpo12+1 (2024-10-03)' btf modules
mkdir -p debian-12-bpo-rt-amd64/etc; cp debian-12-amd64/etc/os-release debian-12-bpo-rt-amd64/etc/

mk debian-12-rt-arm64 aarch64 6.1.0-13-rt-arm64 '#1 SMP PREEMPT_RT Debian 6.1.55-1 (2023-09-29)' btf modules
mkdir -p debian-12-rt-arm64/etc; cp debian-12-amd64/etc/os-release debian-12-rt-arm64/etc/

# No os-release: etc/debian_version names the distro.
mk debian-9-legacy x86_64 4.9.0-19-amd64 '#1 SMP Debian 4.9.320-2 (2022-06-30)' modules
mkdir -p debian-9-legacy/etc; echo 9.13 > debian-9-legacy/etc/debian_version

mk flatcar-3760 x86_64 6.1.73-flatcar '#1 SMP PREEMPT_DYNAMIC Mon Jan 15 22:27:52 -00 2024' btf modules
osrel flatcar-3760 <<'X'
NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=3760.2.0
VERSION_ID=3760.2.0
BUILD_ID=2024-01-16-2202
PRETTY_NAME="Flatcar Container Linux by Kinvolk 3760.2.0 (Oklo)"
X

# The other Falco target IDs.
mk amazonlinux1 x86_64 4.14.355-196.644.amzn1.x86_64 '#1 SMP Fri Jan 1 00:00:00 UTC 2021' modules
osrel amazonlinux1 <<'X'
NAME="Amazon Linux AMI"
VERSION="2018.03"
ID="amzn"
ID_LIKE="rhel fedora"
VERSION_ID="2018.03"
PRETTY_NAME="Amazon Linux AMI 2018.03"
X

mk amazonlinux2022 x86_64 5.15.73-45.135.amzn2022.x86_64 '#1 SMP Tue Oct 11 21:07:27 UTC 2022' btf modules
osrel amazonlinux2022 <<'X'
NAME="Amazon Linux"
VERSION="2022"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2022"
PRETTY_NAME="Amazon Linux 2022"
X

mk centos-8 x86_64 4.18.0-348.7.1.el8_5.x86_64 '#1 SMP Wed Dec 22 13:25:12 UTC 2021' btf modules
osrel centos-8 <<'X'
NAME="CentOS Linux"
VERSION="8"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="8"
PRETTY_NAME="CentOS Linux 8"
X

mk rhel-7-legacy x86_64 3.10.0-1160.el7.x86_64 '#1 SMP Tue Aug 18 14:50:17 EDT 2020' modules
mkdir -p rhel-7-legacy/etc; echo 'Red Hat Enterprise Linux Server release 7.9 (Maipo)' > rhel-7-legacy/etc/redhat-release

mk fedora-40 x86_64 6.8.5-301.fc40.x86_64 '#1 SMP PREEMPT_DYNAMIC Thu Apr 11 20:00:10 UTC 2024' btf modules
osrel fedora-40 <<'X'
NAME="Fedora Linux"
VERSION="40 (Forty)"
ID=fedora
VERSION_ID=40
PRETTY_NAME="Fedora Linux 40 (Forty)"
X

mk ubuntu-18.04-aws-5.0 x86_64 5.0.0-1028-aws-5.0 '#31-Ubuntu SMP Mon Jun 10 15:55:09 UTC 2019' modules
mkdir -p ubuntu-18.04-aws-5.0/etc; cp ubuntu-20.04-aws/etc/os-release ubuntu-18.04-aws-5.0/etc/
