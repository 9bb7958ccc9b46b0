"""The shell's readers: rate files, scenario YAML and target files into the pure core's objects.

    pipecast.loading.rates      load_rate_set(path), bundled_rate_set(name), resolve_rate_set(value)
    pipecast.loading.scenarios  load_scenario(path) (YAML), and compare/solve taking file names
    pipecast.loading.targets    load_target(text or file)
    pipecast.loading.yaml_safe  load_yaml(text or path, what=...): safe YAML with a size and alias budget
"""
