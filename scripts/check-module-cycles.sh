#!/usr/bin/env bash
# Fails when two top-level modules of a library crate use each other,
# directly (`crate::a` in b and `crate::b` in a) or around a longer circle:
# the layering rule of CONTRIBUTING.md ("every arrow points down") inside
# one crate. For each crate under crates/ (or the crate directories given),
# a top-level module is a `mod NAME;` of src/lib.rs; its tree is src/NAME.rs
# and everything under src/NAME/. Every `crate::NAME` path in that tree
# counts — `use` lines, `use crate::{a, b::C}` groups, paths in code —
# except in comments (doc links included) and in `#[cfg(test)]` items,
# inline (`mod tests { … }`) or in their own file (`mod tests;`).
# Not seen: `super::super::x` paths and names re-exported by lib.rs
# (`crate::Type`): they are not `crate::<module>`.
# Prints one block per crate; exit 1 when any crate has a cycle.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."

# --self-test: a small crate with one cycle through a submodule and a use
# group, and paths the check must not count (comments, strings, inline and
# out-of-line #[cfg(test)] modules); the check must report exactly that cycle.
if [ "${1:-}" = "--self-test" ]; then
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/demo/src/b" "$t/demo/src/d"
  printf 'mod a;\npub mod b;\nmod c;\npub(crate) mod d;\n' > "$t/demo/src/lib.rs"
  printf 'use crate::b::X;\nuse crate::c;\n' > "$t/demo/src/a.rs"
  printf 'mod inner;\nuse crate::{\n    c,\n    d::Y,\n};\npub struct X;\n' > "$t/demo/src/b/mod.rs"
  printf 'pub(crate) fn f() {\n    crate::a::g();\n}\n' > "$t/demo/src/b/inner.rs"
  printf '// crate::a in a comment\nconst S: &str = "crate::a";\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n' > "$t/demo/src/c.rs"
  printf 'pub struct Y;\n#[cfg(test)]\nmod tests;\n' > "$t/demo/src/d.rs"
  printf 'use crate::a;\nuse crate::b;\n' > "$t/demo/src/d/tests.rs"
  got=$(bash "$self" "$t/demo" | sed "s#$t/##g") && rc=0 || rc=$?
  want="demo: 4 top-level modules, 1 cycle(s)
  cycle: a b
    a -> b: demo/src/a.rs:1 (1 path(s))
    b -> a: demo/src/b/inner.rs:2 (1 path(s))"
  if [ "$rc" -ne 1 ] || [ "$got" != "$want" ]; then
    printf 'check-module-cycles self-test failed (exit %s):\n%s\nwanted:\n%s\n' "$rc" "$got" "$want" >&2
    exit 2
  fi
  echo "check-module-cycles: self-test passed"
  exit 0
fi

if [ "$#" -eq 0 ]; then
  set -- crates/*/
fi

# Extract "FROM<TAB>TO<TAB>file:line" for every crate::TO path in the files
# on stdin (one per line, with their module as "MODULE<TAB>FILE").
refs() {
  local modules="$1"
  while IFS=$'\t' read -r module file; do
    awk -v module="$module" -v modules="$modules" -v file="$file" '
      BEGIN { n = split(modules, m, " "); for (i = 1; i <= n; i++) known[m[i]] = 1 }
      function braces(s,   t, o, c) { t = s; o = gsub(/\{/, "", t); t = s; c = gsub(/\}/, "", t); return o - c }
      function emit(name) { if (name in known && name != module) printf "%s\t%s\t%s:%d\n", module, name, file, FNR }
      {
        line = $0
        # Strings first (a "//" or "crate::" inside one is not code), then comments.
        gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
        sub(/\/\/.*/, "", line)
        if (in_block_comment) { if (line ~ /\*\//) { sub(/.*\*\//, "", line); in_block_comment = 0 } else next }
        while (line ~ /\/\*/) {
          if (line ~ /\/\*.*\*\//) { sub(/\/\*([^*]|\*[^\/])*\*\//, "", line) } else { sub(/\/\*.*/, "", line); in_block_comment = 1 }
        }
        # Skipping a #[cfg(test)] item: until its braces close, or its `;`.
        if (skip_depth > 0) { skip_depth += braces(line); next }
        if (pending_test) {
          if (line ~ /^[ \t]*(#|$)/) next
          pending_test = 0
          d = braces(line)
          if (d > 0) { skip_depth = d; next }
          if (line ~ /\{/ || line ~ /;[ \t]*$/) next
          # A signature spread over lines: skip until its body opens and closes.
          skip_sig = 1; next
        }
        if (skip_sig) { d = braces(line); if (line ~ /\{/) { skip_sig = 0; if (d > 0) skip_depth = d } ; next }
        if (line ~ /#\[cfg\(test\)\]/) {
          rest = line; sub(/.*#\[cfg\(test\)\][ \t]*/, "", rest)
          if (rest ~ /^[ \t]*$/) { pending_test = 1; next }
          d = braces(rest); if (d > 0) skip_depth = d
          next
        }
        # use crate::{a, b::{c, d}, e::F}: the names right inside the first brace.
        if (group != "" || line ~ /(^|[^$A-Za-z0-9_])crate::\{/) {
          if (group == "") { s = line; sub(/.*crate::\{/, "", s); group = "{" ; depth = 1; start = FNR } else s = line
          for (i = 1; i <= length(s) && depth > 0; i++) {
            c = substr(s, i, 1)
            if (c == "{") depth++
            else if (c == "}") { depth--; if (depth == 0) break }
            else if (depth == 1 && c ~ /[A-Za-z_]/ && (prev == "" || prev ~ /[{,]/)) {
              name = substr(s, i); match(name, /^[A-Za-z_][A-Za-z0-9_]*/); name = substr(name, 1, RLENGTH)
              emit(name); i += RLENGTH - 1; prev = "x"; continue
            }
            if (c !~ /[ \t]/) prev = c
          }
          if (depth == 0) { group = ""; prev = "" }
          # Paths outside the group on the same line are seen below.
        }
        s = line
        while (match(s, /(^|[^$A-Za-z0-9_])crate::[A-Za-z_][A-Za-z0-9_]*/)) {
          hit = substr(s, RSTART, RLENGTH); sub(/.*crate::/, "", hit)
          emit(hit)
          s = substr(s, RSTART + RLENGTH)
        }
      }' "$file"
  done
}

# Files under a `#[cfg(test)] mod NAME;` (NAME.rs or NAME/ next to its parent).
test_files() {
  local file dir stem name
  while read -r file; do
    awk '/#\[cfg\(test\)\]/ { pending = 1; if ($0 ~ /mod[ \t]+[A-Za-z_0-9]+[ \t]*;/) { pending = 0; s = $0; sub(/.*mod[ \t]+/, "", s); sub(/[ \t]*;.*/, "", s); print s }; next }
         pending && /^[ \t]*#/ { next }
         pending { if ($0 ~ /^[ \t]*(pub(\([^)]*\))?[ \t]+)?mod[ \t]+[A-Za-z_0-9]+[ \t]*;/) { s = $0; sub(/.*mod[ \t]+/, "", s); sub(/[ \t]*;.*/, "", s); print s }; pending = 0 }' "$file" |
      while read -r name; do
        dir=$(dirname "$file"); stem=$(basename "$file" .rs)
        case "$stem" in lib | main | mod) ;; *) dir="$dir/$stem" ;; esac
        [ -f "$dir/$name.rs" ] && echo "$dir/$name.rs"
        [ -d "$dir/$name" ] && find "$dir/$name" -name '*.rs'
      done
  done
}

failed=0
for crate in "$@"; do
  crate=${crate%/}
  lib="$crate/src/lib.rs"
  [ -f "$lib" ] || continue
  modules=$(sed -nE 's/^[[:space:]]*(pub(\([^)]*\))?[[:space:]]+)?mod[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*;.*/\3/p' "$lib" | tr '\n' ' ')
  all=$(find "$crate/src" -name '*.rs' | sort)
  excluded=$(printf '%s\n' "$all" | test_files | sort -u)
  listing=""
  for m in $modules; do
    for f in $( { [ -f "$crate/src/$m.rs" ] && echo "$crate/src/$m.rs"; [ -d "$crate/src/$m" ] && find "$crate/src/$m" -name '*.rs'; } | sort); do
      if ! printf '%s\n' "$excluded" | grep -qxF "$f"; then
        listing+="$m"$'\t'"$f"$'\n'
      fi
    done
  done
  edges=$(printf '%s' "$listing" | refs "$modules")
  # Cycles: modules that reach each other (transitive closure, Floyd–Warshall
  # on a few dozen modules), grouped; for each group, one line per arrow
  # inside it with the first place it is made.
  report=$(printf '%s\n' "$edges" | awk -F'\t' -v crate="$crate" -v modules="$modules" '
    NF == 3 { if (!(($1, $2) in at)) { at[$1, $2] = $3; count[$1, $2] = 0 } count[$1, $2]++; reach[$1, $2] = 1 }
    END {
      n = split(modules, m, " ")
      for (k = 1; k <= n; k++) for (i = 1; i <= n; i++) if ((m[i], m[k]) in reach) for (j = 1; j <= n; j++) if ((m[k], m[j]) in reach) reach[m[i], m[j]] = 1
      cycles = 0
      for (i = 1; i <= n; i++) {
        a = m[i]; if (a in grouped || !((a, a) in reach)) continue
        members = a; grouped[a] = 1
        for (j = 1; j <= n; j++) { b = m[j]; if (b != a && !(b in grouped) && ((a, b) in reach) && ((b, a) in reach)) { members = members " " b; grouped[b] = 1 } }
        cycles++
        out = out sprintf("  cycle: %s\n", members)
        k = split(members, g, " ")
        for (x = 1; x <= k; x++) for (y = 1; y <= k; y++) if ((g[x], g[y]) in at) out = out sprintf("    %s -> %s: %s (%d path(s))\n", g[x], g[y], at[g[x], g[y]], count[g[x], g[y]])
      }
      printf "%s: %d top-level modules, %s\n%s", crate, n, cycles ? cycles " cycle(s)" : "no cycle", out
      exit cycles ? 1 : 0
    }') && status=0 || status=$?
  printf '%s\n' "$report"
  [ "$status" -eq 0 ] || failed=1
done
exit "$failed"
