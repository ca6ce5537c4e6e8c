#!/usr/bin/env bash
# Back up Callback Office: the PostgreSQL database (pg_dump, custom format) and the files
# (MEDIA_ROOT, RECORDING_ARCHIVE_ROOT as tar archives), with SHA-256 sums.
#
#   DATABASE_URL=postgres://… scripts/backup.sh [DEST]
#
# DEST defaults to $BACKUP_DIR/<date-time> (BACKUP_DIR defaults to ./backups). The directory
# appears only once complete (written as DEST.partial, then renamed). Read from the environment
# like the app: DATABASE_URL, CALLBACK_VAR_DIR (var), MEDIA_ROOT ($CALLBACK_VAR_DIR/media),
# RECORDING_ARCHIVE_ROOT ($CALLBACK_VAR_DIR/archive). Media on S3 (MEDIA_STORAGE=s3) is not
# copied here: see docs/deployment.md (bucket versioning + mirror).
# The dump is a consistent snapshot while the app runs; files written during the backup may be
# newer than the dump (a missing download at worst, never wrong data).
set -euo pipefail

die() { echo "backup.sh: $*" >&2; exit 2; }

DATABASE_URL="${DATABASE_URL:-}"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) die "DATABASE_URL must point at PostgreSQL (got '${DATABASE_URL:-unset}')" ;;
esac
VAR_DIR="${CALLBACK_VAR_DIR:-var}"
MEDIA_DIR="${MEDIA_ROOT:-$VAR_DIR/media}"
ARCHIVE_DIR="${RECORDING_ARCHIVE_ROOT:-$VAR_DIR/archive}"
DEST="${1:-${BACKUP_DIR:-backups}/$(date +%Y%m%d-%H%M%S)}"
[ -e "$DEST" ] && die "$DEST already exists"
WORK="$DEST.partial"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT  # an interrupted backup leaves nothing behind

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$WORK/db.dump" "$DATABASE_URL"

files_tar() {  # files_tar DIR NAME: every file under DIR (an empty archive if DIR is missing)
  if [ -d "$1" ]; then
    tar --create --gzip --file="$WORK/$2" --directory="$1" --numeric-owner .
  else
    tar --create --gzip --file="$WORK/$2" --files-from=/dev/null
  fi
}
files_tar "$MEDIA_DIR" media.tar.gz
files_tar "$ARCHIVE_DIR" archive.tar.gz

{
  echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "pg_dump=$(pg_dump --version)"
  echo "database=${DATABASE_URL##*/}"
  echo "migrations=$(psql "$DATABASE_URL" -XAtc 'SELECT count(*) FROM django_migrations' 2>/dev/null || echo '?')"
} > "$WORK/MANIFEST"
(cd "$WORK" && sha256sum db.dump media.tar.gz archive.tar.gz MANIFEST > SHA256SUMS)
mv "$WORK" "$DEST"
echo "$DEST"
