-- +goose Up

-- The workflow histories of closed payments and refunds, kept in S3 for finance after
-- Temporal's retention has deleted them (internal/archive): one row per archived run, with
-- the object's key and the SHA-256 of its bytes, which a reader checks. A row is written
-- after its object; neither is ever changed or removed: the archive is final.
CREATE TABLE history_archive (
    workflow_id   text NOT NULL,
    run_id        text NOT NULL,
    workflow_type text NOT NULL,
    object_key    text NOT NULL UNIQUE,
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    closed_at     timestamptz NOT NULL,
    archived_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, run_id)
);

-- +goose StatementBegin
CREATE FUNCTION history_archive_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the history archive is final' USING ERRCODE = 'integrity_constraint_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER history_archive_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON history_archive
    FOR EACH STATEMENT EXECUTE FUNCTION history_archive_final();

-- +goose Down
DROP TABLE history_archive;
DROP FUNCTION history_archive_final;
