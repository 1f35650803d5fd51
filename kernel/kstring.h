/* Forwarding header: the string functions live in lib/kstring.h. Kept only
 * for smm/image/rendezvous.c, which the lead is rewriting; drop it when that
 * file includes lib/kstring.h (tools/layers.allow says the same). */
#include "lib/kstring.h"
