#!/usr/bin/env bash
# A Debian chroot with the QGIS a user runs, built once with mmdebstrap and cached, and a command run inside it
# over a fresh copy of this working tree (at /repo) with ../shared bound read-only at /shared.
#
#   tools/qgis_chroot.sh 3.40 [command...]   Debian 13 "trixie": QGIS 3.40 LTR, Python 3.13, NumPy 2
#   tools/qgis_chroot.sh 3.44 [command...]   Debian "forky" (testing): QGIS 3.44, NumPy 2
#
# Without a command it only builds the chroot. The cache lives in $ROCKGLACIER_CHROOT_DIR
# (default /var/cache/rockglacier/chroots); delete a folder there to rebuild it. Needs root (mmdebstrap, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: tools/qgis_chroot.sh 3.40|3.44 [command...]}"
shift
case "$version" in
  3.40) suite=trixie; apt_options=() ;;
  3.44) suite=forky; apt_options=(--aptopt='Acquire::Check-Valid-Until "false"') ;;
  *) echo "QGIS $version: no Debian chroot is known for it (choose 3.40 or 3.44)." >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "tools/qgis_chroot.sh needs root (mmdebstrap and bind mounts); run it as root or with sudo." >&2
  exit 2
fi
cache="${ROCKGLACIER_CHROOT_DIR:-/var/cache/rockglacier/chroots}"
root="$cache/qgis-$version"
# Debian packages of the chroot: QGIS with its Python, what `make setup` would install, and the tools the tests call.
packages=qgis,python3-qgis,qgis-providers,python3-pip,python3-venv,python3-scipy,python3-pyproj,python3-matplotlib
packages+=,python3-h5py,gdal-bin,xvfb,xauth,make,git,ca-certificates,procps,zip
# a compiler and CMake: pip builds snaphu from source where PyPI has no wheel for the chroot's Python (3.14 on forky)
packages+=,build-essential,cmake
requirements_hash=$( (cat requirements-qgis.txt tools/chroot-requirements.txt; echo "$packages") | sha256sum | cut -c1-16)

if [ ! -f "$root/.rockglacier-built-$requirements_hash" ]; then
  if [ ! -f "$root/.rockglacier-debian" ]; then
    command -v mmdebstrap >/dev/null || { echo "[chroot] installing mmdebstrap"; apt-get install -y -qq mmdebstrap >/dev/null; }
    echo "[chroot] building Debian $suite with QGIS $version in $root (a few minutes, once)"
    rm -rf "$root"
    mkdir -p "$cache"
    mmdebstrap --variant=apt "${apt_options[@]}" --include="$packages" "$suite" "$root" http://deb.debian.org/debian
    touch "$root/.rockglacier-debian"
  fi
  mount -t proc proc "$root/proc"
  # packages added to the list since the chroot was built (apt does nothing for those already there)
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin DEBIAN_FRONTEND=noninteractive /bin/sh -c \
    "apt-get -qq -o Acquire::Check-Valid-Until=false update && apt-get install -y -qq ${packages//,/ } >/dev/null" \
    || { umount -l "$root/proc"; exit 1; }
  umount -l "$root/proc"
  echo "[chroot] installing requirements-qgis.txt and the test tools into QGIS's Python (pip, pinned to the chroot's NumPy)"
  mkdir -p "$root/tmp/requirements"
  # pip inside trusts what this machine trusts (a proxy's certificate authority, where it has one)
  host_ca="${PIP_CERT:-${REQUESTS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}}"
  if [ -f "$host_ca" ]; then cp "$host_ca" "$root/etc/ssl/certs/ca-certificates.crt"; fi
  cp requirements-qgis.txt tools/chroot-requirements.txt "$root/tmp/requirements/"
  # CFLAGS: snaphu 0.4.1 has no wheel for Python 3.14 (forky); its C source builds as C17, not as GCC 15's default C23
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 CFLAGS=-std=gnu17 /bin/sh -c 'echo "numpy==$(python3 -c "import numpy; print(numpy.__version__)")" > /tmp/requirements/numpy.txt &&
    python3 -m pip install -q --disable-pip-version-check --break-system-packages --root-user-action=ignore \
      -r /tmp/requirements/requirements-qgis.txt -r /tmp/requirements/chroot-requirements.txt -c /tmp/requirements/numpy.txt'
  rm -f "$root"/.rockglacier-built-*
  touch "$root/.rockglacier-built-$requirements_hash"
fi
[ "$#" -gt 0 ] || { echo "[chroot] $root is ready"; exit 0; }

# A fresh copy of the working tree (tracked and untracked files git does not ignore) and a fresh home (QGIS profile).
rm -rf "$root/repo" "$root/root/home"
mkdir -p "$root/repo" "$root/root/home" "$root/shared"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
  [ -e "$path" ] && printf '%s\0' "$path"
done | tar --null -T - -cf - | tar -xf - -C "$root/repo"

mounts=()
cleanup() {
  for ((i=${#mounts[@]}-1; i>=0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {  # bind <source> <target inside root> [ro]
  mount --bind "$1" "$root$2"
  mounts+=("$root$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$root$2"; fi
}
mount -t proc proc "$root/proc"; mounts+=("$root/proc")
bind /dev /dev
mount -t devpts devpts "$root/dev/pts" 2>/dev/null && mounts+=("$root/dev/pts") || true
mount -t tmpfs tmpfs "$root/dev/shm" 2>/dev/null && mounts+=("$root/dev/shm") || true
shared_dir="${ROCKGLACIER_SHARED:-$(cd .. && pwd)/shared}"
if [ -d "$shared_dir" ]; then bind "$shared_dir" /shared ro; fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

chroot "$root" /usr/bin/env -i HOME=/root/home PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
  QT_QPA_PLATFORM=offscreen ROCKGLACIER_SHARED=/shared CI="${CI:-}" \
  /bin/bash -c 'cd /repo && "$@"' bash "$@"
