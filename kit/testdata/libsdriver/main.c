#include "driver_config.h"
