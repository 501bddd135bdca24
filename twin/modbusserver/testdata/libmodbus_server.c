/*
 * A Modbus TCP server built on libmodbus, the anchor of
 * BenchmarkVsLibmodbus: modbus_tcp_listen, then one thread serving every
 * connection through select(), modbus_receive and modbus_reply (libmodbus
 * receives from one socket at a time, so a select() loop is how it serves
 * several clients), with TCP_NODELAY on every connection as Go sets it. It
 * maps holding registers 0-124, like the benchmark scenario of the Go
 * server.
 *
 * It listens on 127.0.0.1 on a free port, prints that port on stdout and
 * serves until its standard input closes.
 */
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define NREGS 125

int main(void) {
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    if (ctx == NULL) {
        perror("modbus_new_tcp");
        return 1;
    }
    modbus_mapping_t *map = modbus_mapping_new(0, 0, NREGS, 0);
    if (map == NULL) {
        fprintf(stderr, "modbus_mapping_new: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < NREGS; i++) {
        map->tab_registers[i] = (uint16_t)(0x1234 + 17 * i);
    }
    int lfd = modbus_tcp_listen(ctx, 64);
    if (lfd < 0) {
        fprintf(stderr, "modbus_tcp_listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    if (getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        perror("getsockname");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);

    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    fd_set all;
    FD_ZERO(&all);
    FD_SET(0, &all);
    FD_SET(lfd, &all);
    int maxfd = lfd;
    for (;;) {
        fd_set rd = all;
        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("select");
            return 1;
        }
        if (FD_ISSET(0, &rd)) {
            char b;
            if (read(0, &b, 1) <= 0) {
                break; /* the benchmark is done */
            }
        }
        for (int fd = 1; fd <= maxfd; fd++) {
            if (!FD_ISSET(fd, &rd)) {
                continue;
            }
            if (fd == lfd) {
                int cfd = accept(lfd, NULL, NULL);
                if (cfd >= 0 && cfd < FD_SETSIZE) {
                    /* As Go does for its connections: no Nagle delay. */
                    int one = 1;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    FD_SET(cfd, &all);
                    if (cfd > maxfd) {
                        maxfd = cfd;
                    }
                } else if (cfd >= 0) {
                    close(cfd);
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int n = modbus_receive(ctx, query);
            if (n > 0) {
                modbus_reply(ctx, query, n, map);
            } else if (n < 0) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
    modbus_mapping_free(map);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
