// Package migrations embeds Durapay's numbered SQL migrations, applied by goose
// (internal/platform/pg.Migrate). Never edit a migration that has shipped: add the next one.
package migrations

import "embed"

// FS holds the *.sql files.
//
//go:embed *.sql
var FS embed.FS
