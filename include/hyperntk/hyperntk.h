/* hyperntk.h: the whole public interface. */
#ifndef HYPERNTK_H
#define HYPERNTK_H

#include "hyperntk/analytic.h"
#include "hyperntk/arch.h"
#include "hyperntk/checkpoint.h"
#include "hyperntk/empirical.h"
#include "hyperntk/error.h"
#include "hyperntk/finite.h"
#include "hyperntk/gridfit.h"
#include "hyperntk/h5io.h"
#include "hyperntk/hessian.h"
#include "hyperntk/idx.h"
#include "hyperntk/lazy.h"
#include "hyperntk/mc.h"
#include "hyperntk/mlp.h"
#include "hyperntk/net.h"
#include "hyperntk/parallel.h"
#include "hyperntk/pool.h"
#include "hyperntk/regress.h"
#include "hyperntk/rng.h"
#include "hyperntk/rotate.h"
#include "hyperntk/stats.h"
#include "hyperntk/stdparam.h"
#include "hyperntk/taylor.h"
#include "hyperntk/train.h"
#include "hyperntk/version.h"

#endif
