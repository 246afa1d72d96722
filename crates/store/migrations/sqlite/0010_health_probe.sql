-- One row that /healthz rewrites with 64 KiB of filler: proof that the database can still
-- commit a real write (a full disk or a read-only file answers "database ok" to a read, and a
-- tiny write can still fit in pages the write-ahead log already holds).
CREATE TABLE health_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    filler TEXT NOT NULL
);
