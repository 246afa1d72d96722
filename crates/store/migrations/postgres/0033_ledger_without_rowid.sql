-- SQLite only: PostgreSQL's ledger is a heap table with its primary key index, which is what
-- SQLite's WITHOUT ROWID table gives it. Nothing to change here.
SELECT 1;
