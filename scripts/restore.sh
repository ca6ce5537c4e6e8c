#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database and empty file directories.
#
#   DATABASE_URL=postgres://…/new_db MEDIA_ROOT=… scripts/restore.sh BACKUP_DIR
#
# Stop the web, worker and cron processes first. The checksums are verified before anything is
# written; the database is restored in one transaction (all or nothing); then the files. Refuses
# a database that already has tables or a media/archive directory that already has files: drop
# and recreate the database (createdb) and move the old files aside first.
# Afterwards run `manage.py migrate` if the code is newer than the backup.
set -euo pipefail

die() { echo "restore.sh: $*" >&2; exit 2; }

SRC="${1:-}"
[ -n "$SRC" ] || die "usage: restore.sh BACKUP_DIR"
[ -f "$SRC/SHA256SUMS" ] || die "$SRC is not a complete backup (no SHA256SUMS)"
DATABASE_URL="${DATABASE_URL:-}"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) die "DATABASE_URL must point at PostgreSQL (got '${DATABASE_URL:-unset}')" ;;
esac
VAR_DIR="${CALLBACK_VAR_DIR:-var}"
MEDIA_DIR="${MEDIA_ROOT:-$VAR_DIR/media}"
ARCHIVE_DIR="${RECORDING_ARCHIVE_ROOT:-$VAR_DIR/archive}"

(cd "$SRC" && sha256sum --check --quiet SHA256SUMS) || die "checksums do not match: the backup is damaged"

tables=$(psql "$DATABASE_URL" -XAtc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") \
  || die "cannot connect to the target database"
[ "$tables" = "0" ] || die "the target database is not empty ($tables tables): restore into a new database"
for dir in "$MEDIA_DIR" "$ARCHIVE_DIR"; do
  if [ -d "$dir" ] && [ -n "$(find "$dir" -mindepth 1 -print -quit)" ]; then
    die "$dir is not empty: move it aside first"
  fi
done

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$DATABASE_URL" "$SRC/db.dump"
mkdir -p "$MEDIA_DIR" "$ARCHIVE_DIR"
tar --extract --gzip --file="$SRC/media.tar.gz" --directory="$MEDIA_DIR" --no-same-owner
tar --extract --gzip --file="$SRC/archive.tar.gz" --directory="$ARCHIVE_DIR" --no-same-owner
echo "restored $SRC into ${DATABASE_URL##*/}, $MEDIA_DIR and $ARCHIVE_DIR"
