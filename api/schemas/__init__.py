"""Request and response shapes of the REST API, apart from the ORM models (DESIGN.md's field
names are the contract)."""
