-- The owner role runs migrations and owns the database and schema; the application role owns
-- nothing (what the app connects as). Idempotent: prints "changed" when it created something.
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') AS create_owner \gset
\if :create_owner
  CREATE ROLE :"owner" LOGIN;
  \echo changed
\endif
ALTER ROLE :"owner" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') AS create_app \gset
\if :create_app
  CREATE ROLE :"app" LOGIN;
  \echo changed
\endif
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') AS create_database \gset
\if :create_database
  CREATE DATABASE :"database" OWNER :"owner" ENCODING 'UTF8' TEMPLATE template0;
  \echo changed
\endif
