"""Write time: rule files in, definitions out, every problem with its rule id and JSON path."""
