#include "lib/cpuset.h"
#include "lib/printf.h"

const char *cs_format(cpuset_t s, char *buf, size_t len)
{
    size_t n = 0;
    if (!len)
        return buf;
    buf[0] = '\0';
    if (cs_empty(s)) {
        ksnprintf(buf, len, "none");
        return buf;
    }
    for (int c = cs_first(s); c >= 0;) {
        int end = c;
        while (end + 1 < (int)CPUSET_MAX && cs_has(s, (unsigned)end + 1))
            end++;
        char part[16];
        int k = end == c ? ksnprintf(part, sizeof(part), "%s%d", n ? "," : "", c)
                         : ksnprintf(part, sizeof(part), "%s%d-%d", n ? "," : "", c, end);
        if (n + (size_t)k + 4 > len) {        /* room for "..." and the NUL */
            ksnprintf(buf + n, len - n, "...");
            return buf;
        }
        ksnprintf(buf + n, len - n, "%s", part);
        n += (size_t)k;
        c = cs_next(s, end);
    }
    return buf;
}
