#!/usr/bin/env bash
# Report (and with --apply, set) the CPU facts that make a benchmark runner steady or noisy:
# CPU isolation, the frequency governor, turbo/boost, SMT and ASLR.
#
#   scripts/runner_setup.sh            # report only; changes nothing; any user
#   sudo scripts/runner_setup.sh --apply
#                                      # governor -> performance, turbo/boost off
#
# Isolation (isolcpus=, nohz_full=, rcu_nocbs=) is a kernel command-line setting: it cannot
# be applied at run time, so --apply only prints the line to add. Pin benchmarks to the
# isolated CPUs with `asv run --cpu-affinity LIST` (or `taskset -c LIST benchwatch ...`,
# whose asv children inherit the affinity). See site/guide/runner-setup.md.
#
# SYSFS_ROOT and PROC_ROOT (default /sys and /proc) point the script at another tree, to
# try it on a copy. Exit codes: 0 ok, 2 usage error or --apply without root or a write
# that failed.
set -euo pipefail

sys="${SYSFS_ROOT:-/sys}"
proc="${PROC_ROOT:-/proc}"
cpu="$sys/devices/system/cpu"
apply=0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
  case "$arg" in
    --apply) apply=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "runner_setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [[ $apply -eq 1 && $(id -u) -ne 0 ]]; then
  echo "runner_setup.sh: --apply writes to $cpu and needs root; run it with sudo" >&2
  exit 2
fi

read_or() {  # read_or FILE DEFAULT: the file's first line, or DEFAULT when it is unreadable
  local value
  if value=$(head -n1 "$1" 2>/dev/null) && [[ -n "$value" ]]; then
    printf '%s' "$value"
  else
    printf '%s' "$2"
  fi
}

fact() { printf '%-22s %s\n' "$1:" "$2"; }
advice=()
failed=0

# ---- CPUs and isolation
online=$(read_or "$cpu/online" "unknown")
isolated=$(read_or "$cpu/isolated" "")
nohz=$(read_or "$cpu/nohz_full" "")
cmdline=$(read_or "$proc/cmdline" "")
fact "cpus online" "$online"
fact "isolated cpus" "${isolated:-none}"
fact "nohz_full cpus" "${nohz:-none}"
boot_iso=$(tr ' ' '\n' <<<"$cmdline" | grep -E '^(isolcpus|nohz_full|rcu_nocbs|irqaffinity)=' | paste -sd' ' - || true)
fact "boot isolation args" "${boot_iso:-none}"
if [[ -n "$isolated" ]]; then
  fact "asv pinning" "asv run --cpu-affinity $isolated ..."
else
  fact "asv pinning" "no isolated CPUs; pinning to one CPU still avoids migrations"
  advice+=("isolate CPUs for benchmarks: add 'isolcpus=LIST nohz_full=LIST rcu_nocbs=LIST' to the kernel command line (e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot), leaving CPU 0 to the system; then run asv with --cpu-affinity LIST")
fi

# ---- frequency governor
shopt -s nullglob
gov_files=("$cpu"/cpu[0-9]*/cpufreq/scaling_governor)
if [[ ${#gov_files[@]} -eq 0 ]]; then
  fact "cpufreq driver" "none"
  fact "governor" "none (no cpufreq driver: a VM or container; the hypervisor sets the clock)"
else
  fact "cpufreq driver" "$(read_or "$cpu/cpu0/cpufreq/scaling_driver" unknown)"
  govs=$(for f in "${gov_files[@]}"; do read_or "$f" "?"; echo; done | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
  fact "governor" "$govs"
  fact "available governors" "$(read_or "$cpu/cpu0/cpufreq/scaling_available_governors" unknown)"
  if [[ $apply -eq 1 ]]; then
    for f in "${gov_files[@]}"; do
      if ! echo performance > "$f" 2>/dev/null; then
        echo "runner_setup.sh: could not set $f to performance" >&2
        failed=1
      fi
    done
    fact "governor (applied)" "$(for f in "${gov_files[@]}"; do read_or "$f" "?"; echo; done | sort -u | tr '\n' ' ')"
  elif grep -qv '^performance$' < <(for f in "${gov_files[@]}"; do read_or "$f" "?"; echo; done); then
    advice+=("set the governor to performance on every CPU: sudo scripts/runner_setup.sh --apply (or cpupower frequency-set -g performance)")
  fi
fi

# ---- turbo / boost
turbo="unknown (no intel_pstate/no_turbo or cpufreq/boost file)"
turbo_file=""
turbo_off_value=""
if [[ -f "$cpu/intel_pstate/no_turbo" ]]; then
  turbo_file="$cpu/intel_pstate/no_turbo"; turbo_off_value=1
  [[ $(read_or "$turbo_file" "?") == 1 ]] && turbo="off (intel_pstate/no_turbo=1)" || turbo="on (intel_pstate/no_turbo=0)"
elif [[ -f "$cpu/cpufreq/boost" ]]; then
  turbo_file="$cpu/cpufreq/boost"; turbo_off_value=0
  [[ $(read_or "$turbo_file" "?") == 0 ]] && turbo="off (cpufreq/boost=0)" || turbo="on (cpufreq/boost=1)"
fi
fact "turbo" "$turbo"
if [[ -n "$turbo_file" ]]; then
  if [[ $apply -eq 1 ]]; then
    if echo "$turbo_off_value" > "$turbo_file" 2>/dev/null; then
      fact "turbo (applied)" "off ($(basename "$(dirname "$turbo_file")")/$(basename "$turbo_file")=$(read_or "$turbo_file" "?"))"
    else
      echo "runner_setup.sh: could not write $turbo_off_value to $turbo_file" >&2
      failed=1
    fi
  elif [[ $turbo == on* ]]; then
    advice+=("turn turbo/boost off: it makes the clock depend on temperature and on the other cores' load (sudo scripts/runner_setup.sh --apply)")
  fi
fi

# ---- SMT and ASLR
fact "smt" "$(read_or "$cpu/smt/control" "unknown")"
aslr=$(read_or "$proc/sys/kernel/randomize_va_space" "unknown")
fact "aslr" "$aslr (0 off, 2 full)"
if [[ $(read_or "$cpu/smt/control" "") == on ]]; then
  advice+=("SMT siblings share a core: isolate whole cores (both siblings), or set smt=off on the kernel command line")
fi

# ---- load
fact "load average" "$(cut -d' ' -f1-3 "$proc/loadavg" 2>/dev/null || echo unknown)"

if [[ ${#advice[@]} -gt 0 ]]; then
  echo
  for line in "${advice[@]}"; do echo "advice: $line"; done
fi
echo
echo "Check the result: python scripts/host_noise.py 20 (per-second medians should agree within a few per cent)."
exit $(( failed ? 2 : 0 ))
