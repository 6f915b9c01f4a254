#!/usr/bin/env bash
# Boot-time baseline: boots the guest kernel with the bare initramfs (no agent) N times,
# one after another, and reports the median time from QEMU start to the
# HEARTH_BARE_INIT marker and to QEMU exiting by itself. Also a smoke test of
# guest/build.sh's output: exits non-zero if a boot does not reach the marker.
#
# Usage: guest/bare/boot-baseline.sh [runs=5] [smp=1]
# Env: HEARTH_CACHE_DIR, HEARTH_QEMU (default qemu-system-x86_64), HEARTH_ACCEL (default tcg),
#      HEARTH_CPU (default max),
#      HEARTH_EXTRA_CMDLINE (appended to the kernel command line, for experiments)
set -euo pipefail

runs=${1:-5}
smp=${2:-1}
guest=${HEARTH_CACHE_DIR:-/var/cache/hearth}/guest
qemu=${HEARTH_QEMU:-qemu-system-x86_64}
accel=${HEARTH_ACCEL:-tcg}
cpu=${HEARTH_CPU:-max}

[[ -f $guest/vmlinux && -f $guest/bare-initramfs.cpio ]] || {
  echo "hearth: $guest has no guest build; run guest/build.sh first" >&2
  exit 1
}

# Host TSC frequency in kHz, for the guest's tsc_early_khz=. Under TCG the guest TSC
# ticks at the host's rate; without the hint the guest calibrates against the PIT,
# which is slow and occasionally hangs under emulation. Sources, best first:
#  1. the host kernel's own calibration in the kernel log ("Refined TSC clocksource
#     calibration" beats the early "Detected ... MHz" estimate);
#  2. /proc/cpuinfo "cpu MHz", which is cpu_khz (= TSC rate) only when no cpufreq
#     driver reports a changing frequency and the TSC is constant.
host_tsc_khz() {
  local line mhz
  line=$( (dmesg 2>/dev/null || true) | grep -E 'tsc: (Refined TSC clocksource calibration|Detected) [0-9.]+ MHz' | tail -n 1)
  if [[ $line =~ ([0-9]+)\.([0-9]{3})\ MHz ]]; then
    echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]}))
    return
  fi
  if [[ ! -e /sys/devices/system/cpu/cpu0/cpufreq ]] && grep -q '^flags.* constant_tsc' /proc/cpuinfo; then
    mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
    if [[ $mhz =~ ^([0-9]+)\.([0-9]{3}) ]]; then
      echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]}))
      return
    fi
  fi
}

tsc_khz=$(host_tsc_khz)
cmdline="console=ttyS0 reboot=t panic=-1 no_timer_check nolapic_timer quiet"
# lpj= (loops per jiffy = TSC cycles per tick, so tsc_khz * 1000 / HZ, and the guest
# kernel has HZ=100): the boot CPU derives it from the TSC anyway, but every other vCPU
# re-measures it against the timer tick unless the CPU claims an invariant TSC, which
# TCG's -cpu max does not: that cost ~250 ms per boot with -smp 2.
[[ -n $tsc_khz ]] && cmdline="$cmdline tsc_early_khz=$tsc_khz tsc=reliable lpj=$((tsc_khz * 10))"
cmdline="$cmdline ${HEARTH_EXTRA_CMDLINE:-}"
cmdline=${cmdline% }

# µs since the epoch from bash itself: forking `date` per sample would add its own noise.
now_us() { local t=$EPOCHREALTIME; echo $((10#${t/./})); }

marker_ms=()
exit_ms=()
for ((i = 1; i <= runs; i++)); do
  start=$(now_us)
  marker=
  # The marker's arrival is timed as the line is read; QEMU exits on the guest's reboot
  # because of -no-reboot. timeout only guards against a hung guest.
  while IFS= read -r line; do
    if [[ -z $marker && $line == *HEARTH_BARE_INIT* ]]; then marker=$(now_us); fi
  done < <(timeout 60 "$qemu" \
    -M "microvm,accel=$accel,x-option-roms=off,isa-serial=on,rtc=on,acpi=off" \
    -nodefaults -no-user-config -no-reboot -nographic \
    -cpu "$cpu" -smp "$smp" -m 128 \
    -kernel "$guest/vmlinux" -initrd "$guest/bare-initramfs.cpio" \
    -append "$cmdline" -serial stdio 2>&1)
  end=$(now_us)
  if [[ -z $marker ]]; then
    echo "hearth: run $i: no HEARTH_BARE_INIT within 60 s" >&2
    exit 1
  fi
  marker_ms+=($(((marker - start) / 1000)))
  exit_ms+=($(((end - start) / 1000)))
  echo "run $i: marker ${marker_ms[-1]} ms, qemu exited ${exit_ms[-1]} ms"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "median of $runs (smp=$smp, accel=$accel, cpu=$cpu): marker $(median "${marker_ms[@]}") ms, exit $(median "${exit_ms[@]}") ms"
echo "kernel cmdline: $cmdline"
