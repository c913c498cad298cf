/* Shared by hm_ntp.c and hm_ntp_graph.c (not part of the core API). */
#ifndef HM_NTP_INTERNAL_H
#define HM_NTP_INTERNAL_H

#include "hm_ntp.h"

/* One sample's log-loss LSE_all - LSE_label over nt logits a (label flags islab) and, when g
 * is non-NULL, dL/da (hm_ntp_loss's log-domain formulas); *gap (may be NULL) = max label
 * logit - max other logit. Returns the loss (0 when every position is a label). */
double hm_ntp_sample_terms(const double *a, const unsigned char *islab, size_t nt, double *g,
                           double *gap);

#endif
