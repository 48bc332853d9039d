/* chunked: see chunked.h. A byte-at-a-time state machine, except that data
 * bytes are copied in runs. */
#include "chunked.h"
#include "hex.h"

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF, CH_DONE };

void chunked_init(struct chunked *c)
{
	c->state = CH_SIZE;
	c->size = 0;
	c->ndigits = 0;
	c->line_len = 0;
}

int chunked_feed(struct chunked *c, const char *in, size_t n, struct buf *out, size_t *used)
{
	size_t i = 0;
	while (i < n) {
		char ch = in[i];
		switch (c->state) {
		case CH_SIZE: {
			int h = hex_digit((unsigned char)ch);
			if (h >= 0) {
				c->size = c->size * 16 + (uint64_t)h;
				if (++c->ndigits > 11 || c->size > CHUNKED_MAX_SIZE)
					return -1;
				i++;
				break;
			}
			if (c->ndigits == 0)
				return -1;
			if (ch == ';' || ch == ' ' || ch == '\t')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				goto size_done;
			else
				return -1;
			i++;
			break;
		}
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				goto size_done;
			else if ((unsigned char)ch < 0x20 && ch != '\t')
				return -1;
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -1;
		size_done:
			i++;
			c->ndigits = 0;
			c->line_len = 0;
			c->state = c->size ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t take = n - i;
			if (take > c->size)
				take = (size_t)c->size;
			buf_put(out, in + i, take);
			i += take;
			c->size -= take;
			if (!c->size)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE;
			else
				return -1;
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
			if (ch == '\r') {
				c->state = CH_TRAILER_LF;
			} else if (ch == '\n') {
				if (c->line_len == 0) {
					c->state = CH_DONE;
					*used = i + 1;
					return 1;
				}
				c->line_len = 0;
			} else {
				if (++c->line_len > 8192)
					return -1;
			}
			i++;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -1;
			i++;
			if (c->line_len == 0) {
				c->state = CH_DONE;
				*used = i;
				return 1;
			}
			c->line_len = 0;
			c->state = CH_TRAILER;
			break;
		case CH_DONE:
			return -1;
		}
	}
	*used = n;
	return c->state == CH_DONE ? 1 : 0;
}
