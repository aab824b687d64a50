"""Tables: column schema, reversible transformer, I/O."""
