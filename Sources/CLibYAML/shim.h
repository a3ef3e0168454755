// libyaml (Debian: libyaml-dev), the YAML 1.1 parser Porin's manifest loader drives event by event.
#include <yaml.h>
