#!/usr/bin/env bash
# The whole test suite, from a clean clone on Debian 12, as root:
#   1. installs the dependencies (Debian packages only),
#   2. checks formatting (clang-format 14, the tree's .clang-format),
#   3. builds a release build and an ASan+UBSan build, warnings as errors, and runs every test
#      suite (unit, scenario, interop) in both,
#   4. builds the libFuzzer targets with clang and runs each for a bounded time,
#   5. prints one closing line: "N passed, N failed, N skipped".
# The ASan+UBSan and fuzz builds also define _GLIBCXX_ASSERTIONS, so that std::array, std::vector
# and std::span indexing is bounds-checked there (ASan misses an overrun that stays inside one
# object).
# Under CI (CI=true) a skipped test is a failure: privileged tests must run there.
# Options: --quick (release build only, no fuzzing), --fuzz-seconds N (default 45).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
top=$PWD

quick=0
fuzz_seconds=45
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --fuzz-seconds) fuzz_seconds=$2; shift ;;
    *) echo "usage: tests/run.sh [--quick] [--fuzz-seconds N]" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
tests/install-deps.sh

step "format (clang-format --dry-run -Werror)"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.cc' '*.h' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
clang-format --dry-run -Werror "${sources[@]}"
echo "${#sources[@]} files formatted"

results=()
configure() {  # dir, extra meson args...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    # meson 1.0's `setup --reconfigure` drops compiler options given again (-Dcpp_args);
    # `meson configure` applies every option.
    meson configure "$dir" "$@" >/dev/null
    meson setup --reconfigure "$dir" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}
run_suite() {  # dir
  local dir=$1 rc=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
  results+=("$dir/meson-logs/testlog.json")
  return $rc
}

failed=0
step "release build"
configure build-release --buildtype=release
ninja -C build-release
step "release tests"
run_suite build-release || failed=1

if [ $quick -eq 0 ]; then
  step "ASan+UBSan build"
  # cpp_args adds to the project's own flags (add_project_arguments), it does not replace them.
  configure build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-D_GLIBCXX_ASSERTIONS \
    -Dperf=false  # benchmarks are built (and compile-checked) by the release build
  ninja -C build-asan
  step "ASan+UBSan tests"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}
  run_suite build-asan || failed=1

  step "fuzz (clang, libFuzzer, ${fuzz_seconds}s per target)"
  CXX=clang++ configure build-fuzz --buildtype=debugoptimized -Dfuzz=true -Dperf=false \
    -Dcpp_args=-D_GLIBCXX_ASSERTIONS
  ninja -C build-fuzz
  fuzz_log=build-fuzz/fuzz-results.txt
  : >"$fuzz_log"
  while read -r target; do
    name=$(basename "$target")
    seed=tests/fuzz/$(basename "$(dirname "$target")")/corpus
    work=$(mktemp -d)
    args=(-max_total_time="$fuzz_seconds" -print_final_stats=1 "$work")
    [ -d "$seed" ] && args+=("$seed")
    if "$target" "${args[@]}" >"build-fuzz/$name.log" 2>&1; then
      echo "PASS $name" | tee -a "$fuzz_log"
    else
      echo "FAIL $name (see build-fuzz/$name.log)" | tee -a "$fuzz_log"
      tail -40 "build-fuzz/$name.log"
      failed=1
    fi
    rm -rf "$work"
  done < <(find build-fuzz/tests/fuzz -type f -executable -name '*_fuzz' | sort)
  results+=("$fuzz_log")
fi

step "summary"
python3 - "$top" "${results[@]}" <<'PY'
import json, os, sys
passed = failed = skipped = 0
for path in sys.argv[2:]:
    if path.endswith('.json'):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                res = r['result']
                if res in ('OK', 'EXPECTEDFAIL'):
                    passed += 1
                elif res == 'SKIP':
                    skipped += 1
                    print(f"skipped: {r['name']} ({os.path.dirname(os.path.dirname(path))})")
                else:
                    failed += 1
                    print(f"failed: {r['name']} ({os.path.dirname(os.path.dirname(path))}): {res}")
    else:
        for line in open(path):
            if line.startswith('PASS'):
                passed += 1
            elif line.startswith('FAIL'):
                failed += 1
                print('failed:', line.strip())
with open(os.path.join(sys.argv[1], 'build-release', 'summary.txt'), 'w') as f:
    f.write(f"{passed} {failed} {skipped}\n")
PY
read -r n_pass n_fail n_skip <build-release/summary.txt
if [ "${CI:-}" = "true" ] && [ "$n_skip" -gt 0 ]; then
  echo "CI: $n_skip tests skipped; privileged tests must run in CI" >&2
  failed=1
fi
[ "$n_fail" -gt 0 ] && failed=1
echo "$n_pass passed, $n_fail failed, $n_skip skipped"
exit $failed
