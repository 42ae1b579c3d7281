"""Storage: schema, engines, migrations, the embedded PostgreSQL."""
