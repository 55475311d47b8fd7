"""The network marketplace (issue 18): ads members published to the network, listed on the apex.

``listing`` finds them (search and filters), ``messaging`` carries messages between members of
two groups, ``matching`` pairs a member's ads with other groups' network ads for the digest.
These are the explicit paths by which one group's data is read from outside it: each reads
across groups in small, named ``with all_groups():`` blocks, and only ever ads published to the
network by active members of active groups that trade with the network.
"""
