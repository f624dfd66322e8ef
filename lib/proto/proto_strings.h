/*
 * Every reply and error line, in one place, spelled as memcached 1.6 spells
 * them (doc/protocol.txt and proto_text.c). Without the trailing "\r\n".
 */
#ifndef DPCACHE_PROTO_STRINGS_H
#define DPCACHE_PROTO_STRINGS_H

#define PS_ERROR		"ERROR"
#define PS_BAD_FORMAT		"CLIENT_ERROR bad command line format"
#define PS_BAD_DATA_CHUNK	"CLIENT_ERROR bad data chunk"
#define PS_TOO_LARGE		"SERVER_ERROR object too large for cache"
#define PS_OUT_OF_MEMORY	"SERVER_ERROR out of memory storing object"
#define PS_BAD_EXPTIME		"CLIENT_ERROR invalid exptime argument"
#define PS_BAD_DELTA		"CLIENT_ERROR invalid numeric delta argument"
#define PS_DELETE_USAGE		"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
#define PS_NON_NUMERIC		"CLIENT_ERROR cannot increment or decrement non-numeric value"
#define PS_META_DUP_FLAG	"CLIENT_ERROR duplicate flag"
#define PS_META_INVALID_FLAG	"CLIENT_ERROR invalid flag"
#define PS_META_INVALID_OR_DUP	"CLIENT_ERROR invalid or duplicate flag"
#define PS_META_BAD_TOKEN	"CLIENT_ERROR bad token in command line format"
#define PS_META_KEY_DECODE	"CLIENT_ERROR error decoding key"
#define PS_META_TOO_MANY_FLAGS	"CLIENT_ERROR options flags are too long"
#define PS_META_TOO_MANY_FLAGS2 "CLIENT_ERROR options flags too long"
#define PS_META_OPAQUE_TOO_LONG "CLIENT_ERROR opaque token too long"
#define PS_META_BAD_M_LENGTH	"CLIENT_ERROR incorrect length for M token"
#define PS_META_BAD_MS_MODE	"CLIENT_ERROR invalid mode for ms M token"
#define PS_META_BAD_MA_MODE	"CLIENT_ERROR invalid mode for ma M token"
#define PS_META_BAD_INITIAL	"CLIENT_ERROR invalid numeric initial value"
#define PS_META_BAD_DELTA	"CLIENT_ERROR invalid numeric delta value"
#define PS_UDP_DENIED		"CLIENT_ERROR command not allowed over UDP"

#define PS_STORED     "STORED"
#define PS_NOT_STORED "NOT_STORED"
#define PS_EXISTS     "EXISTS"
#define PS_NOT_FOUND  "NOT_FOUND"
#define PS_DELETED    "DELETED"
#define PS_TOUCHED    "TOUCHED"
#define PS_OK	      "OK"
#define PS_RESET      "RESET"
#define PS_END	      "END"
#define PS_MN	      "MN"
#define PS_EN	      "EN"
#define PS_VALUE      "VALUE "
#define PS_VERSION    "VERSION "
#define PS_STAT	      "STAT "
#define PS_ME	      "ME "
#define PS_CRLF	      "\r\n"

#endif
