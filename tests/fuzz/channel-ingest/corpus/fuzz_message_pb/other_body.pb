agent.repliedª
a1x