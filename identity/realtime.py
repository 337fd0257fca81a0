"""``identity.import.<job id>``: the live progress of a CSV import (ephemeral events)."""
