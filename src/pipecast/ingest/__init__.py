"""Getting data in: user files, bundled data sets and public registries, each with row-level errors."""
