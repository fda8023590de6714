package activities

import "github.com/jackc/pgx/v5/pgxpool"

// Store writes Durapay's Postgres state: the payments read model and the ledger.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore wires the store activities to a pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }
