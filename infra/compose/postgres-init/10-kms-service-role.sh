#!/bin/sh
# Run by the postgres image on the first start of an empty data volume (docker-entrypoint-initdb.d):
# creates the role the KMS services connect as. Its rights (INSERT and SELECT on events and
# audit_records, nothing on kms_migrations) are granted by the KMS after each migration run; the owner
# stays POSTGRES_USER. A volume initialised before this script existed needs the same statement run
# once by hand (docs/audit-and-evidence.md, "Creating the roles").
set -eu
: "${KMS_SERVICE_DB_PASSWORD:?set KMS_SERVICE_DB_PASSWORD for the kms_service role}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v pw="$KMS_SERVICE_DB_PASSWORD" <<'SQL'
CREATE ROLE kms_service LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
SQL
