/* enroll.h: POST /api/v1/enroll: a join token and a CSR in, a node certificate out. */
#pragma once

#include "http.h"

/* Redeems the token, enrolls the node and signs its CSR in one transaction, so that a failure at
 * any step leaves the token unused and no node changed. Refusals are 403 (invalid_token,
 * token_used, token_expired, csr_mismatch) or 400 (bad_csr, invalid_request). */
void enroll_handle(HttpRequest *r);
