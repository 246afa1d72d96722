# Reads a FOCUS Parquet file with pyarrow (an implementation independent of spendlens's writer)
# and prints its schema and every cell as text: decimals exact, timestamps as UTC ISO, nulls "".
import json, sys
import pyarrow.parquet as pq

table = pq.read_table(sys.argv[1])
def text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
columns = table.column_names
data = [table.column(c).to_pylist() for c in columns]
print(json.dumps({
    "schema": {f.name: str(f.type) for f in table.schema},
    "rows": [[text(col[i]) for col in data] for i in range(table.num_rows)],
    "columns": columns,
}))
