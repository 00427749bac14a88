# Shared by the bench scripts: after their option loop, `entities_and_binary "${positional[@]}"`
# checks the positional arguments (ENTITIES [path/to/golden]) and sets $entities and $golden;
# the caller defines usage().
entities_and_binary() {
  if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
  entities=$1
  golden=${2:-}
  case "$entities" in ''|*[!0-9]*) echo "ENTITIES must be a number: $entities" >&2; exit 2 ;; esac
}
