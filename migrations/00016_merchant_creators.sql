-- +goose Up

-- Who brought a merchant in: the staff member who created it, or who invited it. Neither
-- may approve it (four eyes).
ALTER TABLE merchants
    ADD COLUMN created_by text,
    ADD COLUMN invited_by text;

-- +goose Down
ALTER TABLE merchants DROP COLUMN invited_by, DROP COLUMN created_by;
