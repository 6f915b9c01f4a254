#!/usr/bin/env bash
# Everything Hearth needs on a Debian 12 host, installed only when missing, so that running it again
# costs about a second: Debian packages, node modules, then the guest kernel and initramfs
# and the VMM jailer (cached under HEARTH_CACHE_DIR, default /var/cache/hearth).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'hearth: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  say "run as root: Hearth creates bridges, taps and firewall rules and starts VMs" >&2
  exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# One line per package: what uses it.
packages=(
  qemu-system-x86   # the VMM (microvm machine)
  qemu-system-common  # virtiofsd: host directories shared into VMs (a dependency of the above; named for it)
  e2fsprogs         # mkfs.ext4: image, scratch and volume disks; e2fsck: a volume's journal replayed
  erofs-utils       # mkfs.erofs: read-only image disks
  zstd              # zstd-compressed image layers
  iproute2          # bridges, taps, namespaces in tests
  nftables          # NAT egress
  musl-tools        # builds the static guest init
  busybox-static    # test images
  cpio              # packs the initramfs
  xz-utils          # unpacks the kernel source
  linux-source-6.1  # the guest kernel's source
  build-essential flex bison bc libelf-dev libssl-dev  # the guest kernel's build
  docker-registry   # a real registry for tests
  skopeo umoci      # the comparison tools of bench:pull
  apache2-utils     # htpasswd, for registry auth tests
  openssl           # certificates for the token auth test
  docker-compose    # Compose 1.29, driven against the Docker API in tests
  chromium          # the browser of the web UI tests (Playwright drives it by its path)
  fonts-dejavu-core # a font for that browser's pages and screenshots
)
wanted=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || wanted+=("$p")
done
if [ ${#wanted[@]} -gt 0 ]; then
  say "installing Debian packages: ${wanted[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${wanted[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node modules"
  npm ci --no-audit --no-fund
fi

guest/build.sh
jailer/build.sh
